import { createHash } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTfpipeError } from '@tfpipe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchToCache } from './remote.js';
import { openSource } from './registry.js';
import type { Row } from './types.js';

// A real HTTP server on 127.0.0.1 (port 0) serving a CSV with an ETag; it counts full and conditional answers.
let body = 'x,y,label\n';
for (let i = 0; i < 500; i++) body += `${i},${(i * 7) % 13},${i % 3 === 0 ? 'a' : 'b'}\n`;
let etag = '"v1"';
const served = { full: 0, notModified: 0 };
let server: Server;
let base: string;
let cacheDir: string;

beforeAll(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'tfpipe-data-cache-'));
  process.env.TFPIPE_DATA_CACHE = cacheDir;
  server = createServer((req, res) => {
    if (req.url === '/data.csv') {
      if (req.headers['if-none-match'] === etag) {
        served.notModified++;
        res.writeHead(304).end();
        return;
      }
      served.full++;
      res.writeHead(200, { 'content-type': 'text/csv', 'content-length': Buffer.byteLength(body), etag }).end(body);
    } else if (req.url === '/broken.csv') {
      // Announces the whole file, sends half, then drops the connection.
      res.writeHead(200, { 'content-length': Buffer.byteLength(body) });
      res.write(body.slice(0, body.length / 2), () => res.destroy());
    } else {
      res.writeHead(404).end('no');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  delete process.env.TFPIPE_DATA_CACHE;
  await new Promise((r) => server.close(r));
  await rm(cacheDir, { recursive: true, force: true });
});

async function rowsOf(path: string): Promise<Row[]> {
  const src = await openSource({ type: 'csv', path } as never, { baseDir: '/nonexistent' });
  return src.rows().toArray();
}

describe('data at http(s) locations', () => {
  it('streams a CSV into the cache by content hash, revalidates with the ETag, and reads the same rows', async () => {
    const rows = await rowsOf(`${base}/data.csv`);
    expect(rows).toHaveLength(500);
    expect(rows[499]).toEqual({ x: 499, y: (499 * 7) % 13, label: 'b' });
    const sha = createHash('sha256').update(body).digest('hex');
    expect(await readFile(join(cacheDir, 'sha256', sha, 'data.csv'), 'utf8')).toBe(body);
    expect(served).toEqual({ full: 1, notModified: 0 });

    // Unchanged: a conditional request, no second download.
    expect(await rowsOf(`${base}/data.csv`)).toEqual(rows);
    expect(served).toEqual({ full: 1, notModified: 1 });

    // Changed on the server: downloaded again, stored under its new hash.
    body = body.replace('0,0,a', '0,0,b');
    etag = '"v2"';
    const changed = await rowsOf(`${base}/data.csv`);
    expect(changed[0]).toEqual({ x: 0, y: 0, label: 'b' });
    expect(served).toEqual({ full: 2, notModified: 1 });
    expect((await readdir(join(cacheDir, 'sha256'))).sort()).toEqual([sha, createHash('sha256').update(body).digest('hex')].sort());
  });

  it('a download that breaks off, a missing file and plain http elsewhere are errors naming the key, and leave nothing in the cache', async () => {
    const before = await readdir(join(cacheDir, 'sha256'));
    const broken = await fetchToCache(`${base}/broken.csv`, 'data.source.path').catch((e: unknown) => e);
    expect(isTfpipeError(broken, 'E_IO')).toBe(true);
    expect((broken as Error).message).toMatch(/^data\.source\.path: .*broken\.csv/);
    expect(await readdir(join(cacheDir, 'tmp'))).toEqual([]);
    expect(await readdir(join(cacheDir, 'sha256'))).toEqual(before);

    await expect(rowsOf(`${base}/missing.csv`)).rejects.toThrow(/data\.source\.path: cannot download http:\/\/127\.0\.0\.1:\d+\/missing\.csv: HTTP 404/);
    await expect(rowsOf('http://example.com/data.csv')).rejects.toThrow(/plain http:\/\/ is allowed for this machine only/);
    await expect(openSource({ type: 'images', dir: `${base}/images`, shape: [8, 8, 1] } as never, { baseDir: '/' })).rejects.toThrow(/a folder cannot be a URL/);
  });
});
