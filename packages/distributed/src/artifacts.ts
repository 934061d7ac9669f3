/**
 * Trial files through Redis (or a bucket), so that workers and the coordinator share nothing else. A worker packs
 * a trial's folder into one byte stream, stores it as checksummed chunks (chunk-store.ts), and reports the manifest
 * (chunks and files, each with its SHA-256) in the job's result: the job's completion is the commit. A worker
 * that dies mid-upload never completes its job, so its chunks are never collected (the trial is retried and
 * the coordinator deletes them at the end). The coordinator writes an artifact into a staging folder, checks
 * every chunk and file against the manifest, and only then moves it into the sweep directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { TfpipeError } from '@tfpipe/core';
import type { ChunkStore } from './chunk-store.js';
import type { ArtifactManifest } from './job-schema.js';

/** Chunk size of uploads (bytes): large enough to keep round trips few, small enough for Redis' 512 MB strings. */
export const DEFAULT_CHUNK_BYTES = 1 << 20;

/** Where a trial folder's files go: `model` (under a folder named `model`), skipped (`checkpoints/`, only for resuming in place) or `results`. */
export function artifactKind(path: string): 'results' | 'model' | undefined {
  const dirs = path.split('/').slice(0, -1);
  if (dirs.includes('checkpoints')) return undefined;
  return dirs.includes('model') ? 'model' : 'results';
}

/** Regular files under `root`, as sorted relative POSIX paths (links and other special files are left out). */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) out.push(relative(root, full).split(sep).join('/'));
    }
  };
  await walk(root);
  return out.sort();
}

/** A test-only stop in the upload path (`TFPIPE_FAILPOINT=upload-after-first-chunk`), announced on stdout. */
function failpoint(name: string, detail: string, signal?: AbortSignal): Promise<void> {
  if (process.env.TFPIPE_FAILPOINT !== name) return Promise.resolve();
  console.log(`failpoint ${name} reached: ${detail}`);
  return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted at a failpoint')), { once: true }));
}

export interface UploadOptions {
  store: ChunkStore;
  /** The folder the paths are relative to. */
  root: string;
  files: readonly string[];
  kind: ArtifactManifest['kind'];
  /** Names the upload (`<trial>.<attempt>.<kind>.<random>`). */
  label: string;
  chunkBytes?: number;
  signal?: AbortSignal;
  /** Every Redis call goes through this (the worker's watch, so that a lost Redis ends the upload). */
  guard?: <T>(p: Promise<T>) => Promise<T>;
}

/** Streams `files` into Redis as checksummed chunks; returns the manifest that makes them collectable. */
export async function uploadArtifact(options: UploadOptions): Promise<ArtifactManifest> {
  const { store, root, kind } = options;
  const guard = options.guard ?? (<T>(p: Promise<T>) => p);
  const size = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const uploadId = `${options.label}.${kind}.${randomBytes(6).toString('hex')}`;
  await guard(store.begin(uploadId));
  const manifest: ArtifactManifest = { uploadId, kind, bytes: 0, chunks: [], files: [] };
  let chunk = Buffer.allocUnsafe(size);
  let filled = 0;
  const flush = async () => {
    if (!filled) return;
    const data = chunk.subarray(0, filled);
    if (options.signal?.aborted) throw new Error('the upload was aborted');
    await guard(store.put(uploadId, manifest.chunks.length, data));
    manifest.chunks.push({ bytes: filled, sha256: createHash('sha256').update(data).digest('hex') });
    chunk = Buffer.allocUnsafe(size);
    filled = 0;
    if (manifest.chunks.length === 1) await failpoint('upload-after-first-chunk', `${uploadId} chunk 1`, options.signal);
  };
  for (const path of options.files) {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const piece of createReadStream(join(root, ...path.split('/')), { highWaterMark: Math.min(size, 1 << 16) })) {
      const buf = piece as Buffer;
      hash.update(buf);
      bytes += buf.length;
      let at = 0;
      while (at < buf.length) {
        const n = Math.min(buf.length - at, size - filled);
        buf.copy(chunk, filled, at, at + n);
        filled += n;
        at += n;
        if (filled === size) await flush();
      }
    }
    manifest.files.push({ path, bytes, sha256: hash.digest('hex') });
    manifest.bytes += bytes;
  }
  await flush();
  return manifest;
}

/** Inside `root`, or an E_DATA error: the last line of defence after the manifest's schema. */
function inside(root: string, path: string): string {
  const full = resolve(root, ...path.split('/'));
  if (!full.startsWith(resolve(root) + sep)) throw new TfpipeError('E_DATA', `artifact path "${path}" leaves the folder it is written to`);
  return full;
}

/**
 * Writes a checked manifest's files under `dir` (a staging folder), verifying the chunk count, each chunk's
 * size and SHA-256 and each file's. Throws E_DATA on the first mismatch (the caller discards the folder).
 */
export async function downloadArtifact(store: ChunkStore, manifest: ArtifactManifest, dir: string): Promise<void> {
  const where = `artifact ${manifest.uploadId}`;
  const count = await store.count(manifest.uploadId);
  if (count !== manifest.chunks.length) {
    throw new TfpipeError('E_DATA', `${where} is incomplete: ${store.location} holds ${count} of its ${manifest.chunks.length} chunks`);
  }
  let chunkIndex = -1;
  let chunk: Buffer = Buffer.alloc(0);
  let at = 0;
  const nextChunk = async () => {
    chunkIndex++;
    const data = await store.get(manifest.uploadId, chunkIndex);
    const expected = manifest.chunks[chunkIndex]!;
    if (!data || data.length !== expected.bytes || createHash('sha256').update(data).digest('hex') !== expected.sha256) {
      throw new TfpipeError('E_DATA', `${where}: chunk ${chunkIndex + 1} of ${manifest.chunks.length} does not match its checksum`);
    }
    chunk = data;
    at = 0;
  };
  for (const file of manifest.files) {
    const full = inside(dir, file.path);
    let handle: FileHandle;
    try {
      await mkdir(resolve(full, '..'), { recursive: true });
      handle = await open(full, 'wx');
    } catch (e) {
      // A path that is both a file and a folder (`a` and `a/b`), or one the disk refuses: this artifact is unusable.
      throw new TfpipeError('E_DATA', `${where}: cannot write ${file.path}: ${(e as Error).message}`, { cause: e });
    }
    const hash = createHash('sha256');
    try {
      let left = file.bytes;
      while (left > 0) {
        if (at === chunk.length) await nextChunk();
        const n = Math.min(left, chunk.length - at);
        const piece = chunk.subarray(at, at + n);
        hash.update(piece);
        await handle.write(piece);
        at += n;
        left -= n;
      }
    } finally {
      await handle.close();
    }
    if (hash.digest('hex') !== file.sha256) throw new TfpipeError('E_DATA', `${where}: ${file.path} does not match its checksum`);
  }
}

/** A fresh staging folder beside `target`, for an artifact being collected. */
export async function stagingDir(target: string): Promise<string> {
  const dir = `${target}.incoming-${randomBytes(4).toString('hex')}`;
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Replaces `target` with `staged` (a rename: the trial folder appears whole or not at all). */
export async function moveIntoPlace(staged: string, target: string): Promise<void> {
  if (await lstat(target).then(() => true, () => false)) await rm(target, { recursive: true, force: true });
  await rename(staged, target);
}

/** Removes every folder named `model` under `dir` (a trial that is no longer the best keeps its results only). */
export async function removeModelDirs(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const full = join(dir, e.name);
    if (e.name === 'model') await rm(full, { recursive: true, force: true });
    else await removeModelDirs(full);
  }
}
