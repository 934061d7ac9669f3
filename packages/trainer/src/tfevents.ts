import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord uses.
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15 and add a constant. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** Protocol buffer encoding, by hand: only what tensorflow.Event needs. */
class ProtoWriter {
  private parts: number[] = [];
  varint(n: number): this {
    let v = Math.floor(n);
    while (v >= 0x80) {
      this.parts.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.parts.push(v);
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }
  double(field: number, v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.tag(field, 1).parts.push(...b);
    return this;
  }
  float(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.tag(field, 5).parts.push(...b);
    return this;
  }
  int64(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length).parts.push(...b);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** A serialized tensorflow.Event: wall_time (1), step (2), file_version (3) or summary (5) of simple values. */
export function encodeEvent(e: { wallTime: number; step: number; fileVersion?: string; scalars?: Record<string, number> }): Uint8Array {
  const w = new ProtoWriter().double(1, e.wallTime).int64(2, e.step);
  if (e.fileVersion !== undefined) w.string(3, e.fileVersion);
  if (e.scalars) {
    const summary = new ProtoWriter();
    for (const [tag, value] of Object.entries(e.scalars)) {
      summary.bytes(1, new ProtoWriter().string(1, tag).float(2, value).finish());
    }
    w.bytes(5, summary.finish());
  }
  return w.finish();
}

/** One TFRecord: uint64 length, masked crc of the length, data, masked crc of the data (all little-endian). */
export function encodeRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** Appends scalar summaries to `<dir>/events.out.tfevents.<seconds>.<host>`, readable by TensorBoard. */
export class TensorBoardWriter {
  readonly path: string;
  private fd: number | undefined;

  constructor(dir: string, now = Date.now()) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, `events.out.tfevents.${Math.floor(now / 1000)}.${hostname()}`);
    this.fd = openSync(this.path, 'a');
    this.write(encodeEvent({ wallTime: now / 1000, step: 0, fileVersion: 'brain.Event:2' }));
  }

  /** Writes finite scalars at `step`; each record goes to the OS at once, so a crash loses nothing written. */
  scalars(step: number, values: Record<string, number>): void {
    const finite = Object.fromEntries(Object.entries(values).filter(([, v]) => Number.isFinite(v)));
    if (Object.keys(finite).length === 0) return;
    this.write(encodeEvent({ wallTime: Date.now() / 1000, step, scalars: finite }));
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private write(data: Uint8Array): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, encodeRecord(data));
  }
}
