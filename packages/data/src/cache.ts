import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { TfpipeError } from '@tfpipe/core';

// A compact tagged binary format for rows and batches of rows, framed by a uint32 length per item.
const T_NULL = 0;
const T_NUMBER = 1;
const T_STRING = 2;
const T_TRUE = 3;
const T_FALSE = 4;
const T_F32 = 5;
const T_U8 = 6;
const T_ARRAY = 7;
const T_OBJECT = 8;
const T_UNDEFINED = 9;
const T_I32 = 10;

class Writer {
  buf = Buffer.allocUnsafe(1 << 16);
  pos = 0;
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
  }
  bytes(b: Uint8Array): void {
    this.u32(b.byteLength);
    this.ensure(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }
  value(v: unknown): void {
    if (v === null) this.u8(T_NULL);
    else if (v === undefined) this.u8(T_UNDEFINED);
    else if (typeof v === 'number') {
      this.u8(T_NUMBER);
      this.ensure(8);
      this.buf.writeDoubleLE(v, this.pos);
      this.pos += 8;
    } else if (typeof v === 'string') {
      this.u8(T_STRING);
      this.bytes(Buffer.from(v, 'utf8'));
    } else if (typeof v === 'boolean') this.u8(v ? T_TRUE : T_FALSE);
    else if (v instanceof Float32Array || v instanceof Int32Array) {
      this.u8(v instanceof Float32Array ? T_F32 : T_I32);
      this.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    } else if (v instanceof Uint8Array) {
      this.u8(T_U8);
      this.bytes(v);
    } else if (Array.isArray(v)) {
      this.u8(T_ARRAY);
      this.u32(v.length);
      for (const x of v) this.value(x);
    } else if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      const keys = Object.keys(v);
      this.u8(T_OBJECT);
      this.u32(keys.length);
      for (const k of keys) {
        this.bytes(Buffer.from(k, 'utf8'));
        this.value((v as Record<string, unknown>)[k]);
      }
    } else {
      throw new TfpipeError('E_USAGE', `Dataset.cache({ dir }): cannot write ${Object.prototype.toString.call(v)} to disk`, {
        hint: 'Disk caches hold rows and arrays of numbers, strings, booleans, null, Float32Array, Int32Array, Uint8Array; use cache() in memory for other items.',
      });
    }
  }
}

/** Encodes one item as bytes (exported for tests). */
export function encodeItem(v: unknown): Buffer {
  const w = new Writer();
  w.value(v);
  return w.buf.subarray(0, w.pos);
}

/** Decodes what `encodeItem` wrote. */
export function decodeItem(b: Buffer): unknown {
  let pos = 0;
  const bytes = (): Buffer => {
    const n = b.readUInt32LE(pos);
    pos += 4;
    const out = b.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const copy = (s: Buffer): ArrayBuffer => s.buffer.slice(s.byteOffset, s.byteOffset + s.byteLength) as ArrayBuffer;
  const value = (): unknown => {
    const tag = b[pos++];
    switch (tag) {
      case T_NULL:
        return null;
      case T_UNDEFINED:
        return undefined;
      case T_NUMBER: {
        const v = b.readDoubleLE(pos);
        pos += 8;
        return v;
      }
      case T_STRING:
        return bytes().toString('utf8');
      case T_TRUE:
        return true;
      case T_FALSE:
        return false;
      case T_F32:
        return new Float32Array(copy(bytes()));
      case T_I32:
        return new Int32Array(copy(bytes()));
      case T_U8:
        return new Uint8Array(copy(bytes()));
      case T_ARRAY: {
        const n = b.readUInt32LE(pos);
        pos += 4;
        const out: unknown[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = value();
        return out;
      }
      case T_OBJECT: {
        const n = b.readUInt32LE(pos);
        pos += 4;
        const out: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const k = bytes().toString('utf8');
          out[k] = value();
        }
        return out;
      }
      default:
        throw new TfpipeError('E_IO', `corrupt dataset cache: unknown tag ${tag} at byte ${pos - 1}`);
    }
  };
  return value();
}

export interface CacheWriter<T> {
  write(item: T): Promise<void>;
  /** Completes the file when the pass was complete, removes it otherwise. */
  end(complete: boolean): Promise<void>;
}

/** One cache file per `cache({ dir })` call, valid for this process only (never trusted across runs). */
export function diskCache<T>(dir: string) {
  const file = join(dir, `dataset-cache-${process.pid}-${randomBytes(6).toString('hex')}.bin`);
  let done = false;
  return {
    file,
    ready: () => done,
    async begin(): Promise<CacheWriter<T>> {
      await mkdir(dir, { recursive: true });
      const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
      const fh = await open(tmp, 'w');
      const w = new Writer();
      const flush = async (): Promise<void> => {
        if (w.pos > 0) await fh.write(w.buf, 0, w.pos);
        w.pos = 0;
      };
      return {
        async write(item) {
          const start = w.pos;
          w.u32(0);
          w.value(item);
          w.buf.writeUInt32LE(w.pos - start - 4, start);
          if (w.pos >= 1 << 20) await flush();
        },
        async end(complete) {
          try {
            if (complete) await flush();
          } finally {
            await fh.close();
          }
          if (complete && !done) {
            await rename(tmp, file);
            done = true;
          } else await rm(tmp, { force: true });
        },
      };
    },
    async *read(): AsyncGenerator<T> {
      const fh: FileHandle = await open(file, 'r');
      try {
        let pending = Buffer.alloc(0);
        const chunk = Buffer.allocUnsafe(1 << 20);
        while (true) {
          const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
          if (bytesRead === 0) break;
          pending = pending.length === 0 ? Buffer.from(chunk.subarray(0, bytesRead)) : Buffer.concat([pending, chunk.subarray(0, bytesRead)]);
          let pos = 0;
          while (pending.length - pos >= 4) {
            const n = pending.readUInt32LE(pos);
            if (pending.length - pos - 4 < n) break;
            yield decodeItem(pending.subarray(pos + 4, pos + 4 + n)) as T;
            pos += 4 + n;
          }
          pending = pending.subarray(pos);
        }
        if (pending.length > 0) throw new TfpipeError('E_IO', `dataset cache ${file} ends in the middle of an item`);
      } finally {
        await fh.close();
      }
    },
  };
}
