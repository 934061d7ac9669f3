import { TfpipeError, silentLogger, type Logger } from '@tfpipe/core';
import { Redis } from 'ioredis';
import { type RedisConnection, describeConnection, redisOptions } from './queue-shared.js';

export interface RedisWatchOptions {
  connection: RedisConnection;
  /** Give up once Redis has been unreachable for this long (ms). */
  downTimeoutMs: number;
  /** Who gives up, for the message: `the sweep abc`, `worker host:1`. */
  who: string;
  logger?: Logger;
  /** How often Redis is pinged (ms, default 500): a connection that hangs without closing counts as lost too. */
  pingMs?: number;
}

/**
 * Watches one Redis. Clients of the queue wait for Redis to come back (their commands queue up); this watch
 * decides for how long: `lost` rejects, with a message naming the address and the limit, once Redis has been
 * unreachable for `downTimeoutMs` without a break. `guard(p)` races any Redis work against that.
 */
export class RedisWatch {
  /** Rejects once Redis has been gone for longer than the limit; never resolves. */
  readonly lost: Promise<never>;
  private readonly client: Redis;
  private readonly logger: Logger;
  private readonly address: string;
  private reject!: (e: Error) => void;
  private downSince: number | undefined;
  private lastError = '';
  private timer: NodeJS.Timeout | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private closed = false;
  /** Set on the first 'ready': before it, a failing ping means "not connected yet", not "lost". */
  private connected = false;
  private backListeners: (() => void)[] = [];
  /** Times Redis came back after being lost (callers redo what a restarted Redis may have forgotten). */
  reconnects = 0;
  error: Error | undefined;

  constructor(private readonly options: RedisWatchOptions) {
    this.logger = options.logger ?? silentLogger;
    this.address = describeConnection(options.connection);
    this.lost = new Promise<never>((_, reject) => {
      this.reject = reject;
    });
    this.lost.catch(() => {});
    const pingMs = options.pingMs ?? 500;
    this.client = new Redis({
      ...redisOptions(options.connection),
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      connectTimeout: Math.max(1000, pingMs * 4),
      commandTimeout: Math.max(1000, pingMs * 4),
      retryStrategy: () => pingMs,
    });
    this.client.on('error', (e: Error) => {
      this.lastError = e.message;
    });
    this.client.on('close', () => this.down('the connection closed'));
    const ping = () => {
      if (this.closed) return;
      this.client.ping().then(
        () => this.up(),
        (e: Error) => this.down(e.message),
      );
      this.pinger = setTimeout(ping, pingMs);
      this.pinger.unref();
    };
    this.client.on('ready', () => {
      if (!this.connected) {
        this.connected = true;
        ping();
      }
      this.up();
    });
  }

  /** Whether Redis is unreachable now. */
  get isDown(): boolean {
    return this.downSince !== undefined;
  }

  /** Whether the limit has passed (`lost` has rejected). */
  get failed(): boolean {
    return this.error !== undefined;
  }

  /** `p`, unless Redis stays lost for longer than the limit first. */
  guard<T>(p: Promise<T>): Promise<T> {
    if (this.error) {
      p.catch(() => {});
      return Promise.reject(this.error);
    }
    return Promise.race([p, this.lost]);
  }

  /** Calls `fn` each time Redis comes back after being lost. */
  onBack(fn: () => void): void {
    this.backListeners.push(fn);
  }

  private down(why: string): void {
    if (this.closed || !this.connected || this.downSince !== undefined || this.error) return;
    this.downSince = Date.now();
    if (why) this.lastError = why;
    const seconds = this.options.downTimeoutMs / 1000;
    this.logger.warn(`${this.options.who}: lost Redis at ${this.address} (${this.lastError}); waiting up to ${seconds} s for it to come back`);
    this.timer = setTimeout(() => {
      this.error = new TfpipeError(
        'E_IO',
        `${this.options.who} lost Redis at ${this.address} for more than ${seconds} s (last error: ${this.lastError || 'no answer'}); giving up`,
        { hint: 'Check that redis-server runs and is reachable, or allow a longer outage (--redis-timeout <seconds>).' },
      );
      this.reject(this.error);
    }, this.options.downTimeoutMs);
  }

  private up(): void {
    if (this.closed || this.downSince === undefined || this.error) return;
    clearTimeout(this.timer);
    const seconds = ((Date.now() - this.downSince) / 1000).toFixed(1);
    this.downSince = undefined;
    this.reconnects++;
    this.logger.info(`${this.options.who}: Redis at ${this.address} is back after ${seconds} s`);
    for (const fn of this.backListeners) fn();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.pinger);
    this.client.disconnect();
  }
}
