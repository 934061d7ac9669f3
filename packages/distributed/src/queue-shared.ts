import { TfpipeError } from '@tfpipe/core';
import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';

/** `redis://[user:password@]host:port[/db]`, or ioredis options. */
export type RedisConnection = string | RedisOptions;

/** Default prefix of every Redis key this package writes (BullMQ's included). */
export const DEFAULT_PREFIX = 'tfpipe';

/**
 * Reconnect attempts after Redis went away: soon, then at most every 2 s (ioredis' BullMQ default backs off to
 * 20 s, which would leave a sweep idle long after Redis is back).
 */
const reconnectDelay = (times: number): number => Math.min(200 * times, 2000);

/** ioredis options from a URL; BullMQ needs `maxRetriesPerRequest: null` on its blocking connections. */
export function redisOptions(connection: RedisConnection): RedisOptions {
  if (typeof connection !== 'string') return { maxRetriesPerRequest: null, retryStrategy: reconnectDelay, ...connection };
  let url: URL;
  try {
    url = new URL(connection);
  } catch {
    throw new TfpipeError('E_USAGE', `cannot read the Redis address "${connection}"; expected redis://host:port`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new TfpipeError('E_USAGE', `the Redis address "${connection}" must start with redis:// or rediss://`);
  }
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return {
    host: url.hostname || '127.0.0.1',
    port: url.port ? Number(url.port) : 6379,
    db,
    maxRetriesPerRequest: null,
    retryStrategy: reconnectDelay,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** How to print a connection in messages (no password). */
export function describeConnection(connection: RedisConnection): string {
  const o = redisOptions(connection);
  return `redis://${o.host ?? '127.0.0.1'}:${o.port ?? 6379}${o.db ? `/${o.db}` : ''}`;
}

/** BullMQ connection options. */
export function bullConnection(connection: RedisConnection): ConnectionOptions {
  return redisOptions(connection) as ConnectionOptions;
}

/**
 * Checks that Redis answers within `timeoutMs`; throws E_USAGE naming the address otherwise. Without
 * it, ioredis would retry forever and a sweep would hang instead of failing.
 */
export async function pingRedis(connection: RedisConnection, timeoutMs = 2000): Promise<void> {
  const client = new Redis({
    ...redisOptions(connection),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    throw new TfpipeError('E_USAGE', `cannot reach Redis at ${describeConnection(connection)}: ${(e as Error).message}`, {
      hint: "Start one (redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no) or pass --queue redis://host:port.",
      cause: e,
    });
  } finally {
    client.disconnect();
  }
}

/** The BullMQ queue of one sweep (names cannot contain ':'). */
export function queueName(sweepId: string): string {
  return `sweep-${sweepId.replace(/:/g, '-')}`;
}

/** Redis keys beside BullMQ's. */
export function sweepKeys(prefix: string, sweepId: string) {
  return {
    /** Set of sweeps that have work queued; workers without a fixed queue watch it. */
    active: `${prefix}:sweeps`,
    /** The parent's sweep.json, as a string. */
    summary: `${prefix}:sweep:${sweepId}:summary`,
    /** Hash trial id → TrialResult JSON, written by workers. */
    results: `${prefix}:sweep:${sweepId}:results`,
    /** Set of upload ids begun by workers (complete or not), so that the coordinator can delete them all. */
    uploads: `${prefix}:sweep:${sweepId}:uploads`,
    /** The sweep metric of the best trial collected so far (workers upload a model only if theirs is as good). */
    best: `${prefix}:sweep:${sweepId}:best`,
    /** The chunks of one upload, a list of binary strings. */
    upload: (uploadId: string) => `${prefix}:sweep:${sweepId}:upload:${uploadId}`,
  };
}
