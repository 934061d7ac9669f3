import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TensorBoardWriter, crc32c } from './index.js';

// An independent reader: bitwise CRC-32C (no table), protobuf decoding by wire type.
function crcBitwise(bytes: Uint8Array): number {
  let c = ~0 >>> 0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0x82f63b78 & -(c & 1));
  }
  return ~c >>> 0;
}
const mask = (c: number) => ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;

type Field = { field: number; wire: number; value: number | bigint | Uint8Array };
function decodeProto(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let i = 0;
  const varint = (): bigint => {
    let r = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++]!;
      r |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return r;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const field = key >> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 1) {
      out.push({ field, wire, value: view.getFloat64(i, true) });
      i += 8;
    } else if (wire === 5) {
      out.push({ field, wire, value: view.getFloat32(i, true) });
      i += 4;
    } else if (wire === 2) {
      const n = Number(varint());
      out.push({ field, wire, value: buf.subarray(i, i + n) });
      i += n;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}

function readRecords(file: Uint8Array): Uint8Array[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const records: Uint8Array[] = [];
  let i = 0;
  while (i < file.length) {
    const len = Number(view.getBigUint64(i, true));
    expect(view.getUint32(i + 8, true)).toBe(mask(crcBitwise(file.subarray(i, i + 8))));
    const data = file.subarray(i + 12, i + 12 + len);
    expect(view.getUint32(i + 12 + len, true)).toBe(mask(crcBitwise(data)));
    records.push(data);
    i += 12 + len + 4;
  }
  return records;
}

describe('TensorBoard event files', () => {
  it('crc32c matches the RFC 3720 check value', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  });

  it('writes TFRecords of tensorflow.Event that an independent reader decodes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tfpipe-tb-'));
    const w = new TensorBoardWriter(dir, 1_700_000_000_500);
    w.scalars(1, { loss: 0.5, val_accuracy: 0.75 });
    w.scalars(300, { 'batch/loss': 0.25, skipped: Number.NaN });
    w.close();
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^events\.out\.tfevents\.1700000000\..+/);
    const records = readRecords(new Uint8Array(await readFile(join(dir, files[0]!))));
    expect(records).toHaveLength(3);

    const first = decodeProto(records[0]!);
    expect(first[0]).toEqual({ field: 1, wire: 1, value: 1_700_000_000.5 });
    expect(first[1]).toEqual({ field: 2, wire: 0, value: 0n });
    expect(new TextDecoder().decode(first[2]!.value as Uint8Array)).toBe('brain.Event:2');

    const scalars = (rec: Uint8Array) => {
      const ev = decodeProto(rec);
      const step = ev.find((f) => f.field === 2)!.value;
      const summary = decodeProto(ev.find((f) => f.field === 5)!.value as Uint8Array);
      const values = summary.map((v) => {
        const fields = decodeProto(v.value as Uint8Array);
        return [new TextDecoder().decode(fields.find((f) => f.field === 1)!.value as Uint8Array), fields.find((f) => f.field === 2)!.value];
      });
      return { step, values: Object.fromEntries(values) };
    };
    expect(scalars(records[1]!)).toEqual({ step: 1n, values: { loss: 0.5, val_accuracy: 0.75 } });
    // Step 300 needs a two-byte varint; NaN values are not written.
    expect(scalars(records[2]!)).toEqual({ step: 300n, values: { 'batch/loss': 0.25 } });
  });
});
