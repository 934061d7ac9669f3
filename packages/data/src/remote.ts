/**
 * Data files at `https://` locations (and `http://` on this machine only, for local mirrors and tests): streamed
 * to a local cache once, stored under their content's SHA-256, and revalidated with the server's ETag /
 * Last-Modified on later runs. A config that names a URL then runs unchanged on any machine (sweep workers).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TfpipeError, writeJsonAtomic, type Logger } from '@tfpipe/core';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Whether a config path is a URL (read through the cache) rather than a file. */
export function isRemotePath(p: string): boolean {
  return /^https?:\/\//i.test(p);
}

/** The cache folder: `TFPIPE_DATA_CACHE`, else `$XDG_CACHE_HOME/tfpipe/data`, else `~/.cache/tfpipe/data`. */
export function dataCacheDir(): string {
  if (process.env.TFPIPE_DATA_CACHE) return process.env.TFPIPE_DATA_CACHE;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tfpipe', 'data');
}

interface CacheEntry {
  url: string;
  sha256: string;
  bytes: number;
  file: string;
  etag?: string;
  lastModified?: string;
}

/** A file name for the cached copy: the URL's last segment (so extensions still say the format), made safe. */
function fileNameOf(url: URL): string {
  const name = basename(decodeURIComponent(url.pathname)).replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '');
  return name.slice(-100) || 'data';
}

/**
 * The local path of `location` (a URL), downloading it into the cache unless the cached copy is still current.
 * `where` names the config key in messages (`data.source.path`).
 */
export async function fetchToCache(location: string, where: string, options: { logger?: Logger; cacheDir?: string } = {}): Promise<string> {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw new TfpipeError('E_CONFIG', `${where}: received "${location}"; expected an https:// URL or a file path`, { path: where.split('.') });
  }
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) {
    throw new TfpipeError('E_CONFIG', `${where}: received "${location}"; plain http:// is allowed for this machine only (127.0.0.1, localhost); use https://`, {
      path: where.split('.'),
    });
  }
  const shown = `${url.origin}${url.pathname}`; // never print credentials or query tokens
  const cache = options.cacheDir ?? dataCacheDir();
  const indexFile = join(cache, 'urls', `${createHash('sha256').update(url.href).digest('hex')}.json`);
  const cached = await readFile(indexFile, 'utf8').then(
    (t) => JSON.parse(t) as CacheEntry,
    () => undefined,
  );
  const cachedOk = cached && (await stat(cached.file).then((s) => s.size === cached.bytes, () => false)) ? cached : undefined;
  const headers: Record<string, string> = {};
  if (cachedOk?.etag) headers['if-none-match'] = cachedOk.etag;
  if (cachedOk?.lastModified) headers['if-modified-since'] = cachedOk.lastModified;
  let res: Response;
  try {
    res = await fetch(url, { headers, redirect: 'follow' });
  } catch (e) {
    throw new TfpipeError('E_IO', `${where}: cannot download ${shown}: ${(e as Error).message}`, { path: where.split('.'), cause: e });
  }
  if (res.status === 304 && cachedOk) {
    await res.body?.cancel();
    options.logger?.info(`${where}: ${shown} unchanged, using the cached copy`);
    return cachedOk.file;
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new TfpipeError('E_IO', `${where}: cannot download ${shown}: HTTP ${res.status} ${res.statusText}`, { path: where.split('.') });
  }
  await mkdir(join(cache, 'tmp'), { recursive: true });
  const tmp = join(cache, 'tmp', `${randomBytes(8).toString('hex')}.part`);
  const hash = createHash('sha256');
  let bytes = 0;
  const total = Number(res.headers.get('content-length')) || undefined;
  let nextReport = 64 << 20;
  options.logger?.info(`${where}: downloading ${shown}${total ? ` (${(total / 1e6).toFixed(1)} MB)` : ''}`);
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      if (bytes >= nextReport) {
        nextReport += 64 << 20;
        options.logger?.info(`${where}: ${(bytes / 1e6).toFixed(0)} MB${total ? ` of ${(total / 1e6).toFixed(0)} MB` : ''}`);
      }
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), count, createWriteStream(tmp));
  } catch (e) {
    await rm(tmp, { force: true });
    throw new TfpipeError('E_IO', `${where}: the download of ${shown} broke off after ${bytes} bytes: ${(e as Error).message}`, { path: where.split('.'), cause: e });
  }
  if (total !== undefined && bytes !== total) {
    await rm(tmp, { force: true });
    throw new TfpipeError('E_IO', `${where}: ${shown} sent ${bytes} bytes of the ${total} it announced`, { path: where.split('.') });
  }
  const sha256 = hash.digest('hex');
  const dir = join(cache, 'sha256', sha256);
  const file = join(dir, fileNameOf(url));
  await mkdir(dir, { recursive: true });
  await rename(tmp, file);
  const entry: CacheEntry = { url: shown, sha256, bytes, file };
  const etag = res.headers.get('etag');
  const lastModified = res.headers.get('last-modified');
  if (etag) entry.etag = etag;
  if (lastModified) entry.lastModified = lastModified;
  await writeJsonAtomic(indexFile, entry);
  options.logger?.info(`${where}: ${shown} cached (${bytes} bytes, sha256 ${sha256.slice(0, 12)}…)`);
  return file;
}
