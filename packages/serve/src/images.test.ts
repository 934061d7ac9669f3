import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadedRun, loadRun } from '@tfpipe/pipeline';
import type { Row } from '@tfpipe/data';
import { makeMnistRun, mnistRows } from './__fixtures__/mnist-run.js';
import { predictFile, type PredictLine } from './predict-file.js';
import { createServer, type PredictionServer } from './server.js';

type Pred = { label: string; class: number; probabilities: Record<string, number> };

let tmp: string;
let run: LoadedRun;
let server: PredictionServer;
let url: string;
const digits = mnistRows(6, 1000); // not in the 256 training digits

const png = (px: Float32Array) => sharp(Buffer.from(Uint8Array.from(px)), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
const post = (body: unknown) => fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

function expectSame(got: Pred, want: Pred): void {
  expect(got.label).toBe(want.label);
  for (const [k, p] of Object.entries(want.probabilities)) expect(got.probabilities[k]).toBeCloseTo(p, 5);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-serve-img-'));
  await makeMnistRun(join(tmp, 'run'));
  run = await loadRun(join(tmp, 'run'));
  server = await createServer(join(tmp, 'run'), { port: 0 });
  url = await server.listen();
});

afterAll(async () => {
  await server?.close();
  run?.model.dispose();
  await rm(tmp, { recursive: true, force: true });
});

describe('image records', () => {
  it('predicts a base64 PNG, a data: URL, a pixel array and a multipart file exactly like LoadedRun.predict on the raw pixels', async () => {
    const want = (await run.predict(digits.map((d): Row => ({ image: d.image as Float32Array })))) as Pred[];
    const b64 = await Promise.all(digits.map(async (d) => (await png(d.image as Float32Array)).toString('base64')));
    const many = (await (await post({ instances: b64.map((image) => ({ image })) })).json()) as { predictions: Pred[] };
    for (let i = 0; i < digits.length; i++) expectSame(many.predictions[i]!, want[i]!);

    const dataUrl = (await (await post({ image: `data:image/png;base64,${b64[0]}` })).json()) as { prediction: Pred };
    expectSame(dataUrl.prediction, want[0]!);
    const pixels = (await (await post({ image: Array.from(digits[1]!.image as Float32Array), label: 7 })).json()) as { prediction: Pred };
    expectSame(pixels.prediction, want[1]!);

    const form = new FormData();
    form.set('image', new Blob([new Uint8Array(await png(digits[2]!.image as Float32Array))], { type: 'image/png' }), 'digit.png');
    const multipart = (await (await fetch(`${url}/predict`, { method: 'POST', body: form })).json()) as { prediction: Pred };
    expectSame(multipart.prediction, want[2]!);
  });

  it('answers invalid images with a 400 naming the field, then still predicts', async () => {
    const cases: [string, unknown, string][] = [
      ['random bytes', { image: Buffer.from('definitely not a png file').toString('base64') }, 'image'],
      ['not base64', { image: '%%%not base64%%%' }, 'image'],
      ['wrong pixel count', { image: [1, 2, 3] }, 'image'],
      ['pixel out of range', { image: Array.from({ length: 784 }, () => 300) }, 'image[0]'],
      ['bad image inside instances', { instances: [{ image: 'AAAA' }] }, 'instances[0].image'],
    ];
    for (const [name, body, field] of cases) {
      const res = await post(body);
      const err = (await res.json()) as { error: { message: string; issues: { path: string }[] } };
      expect({ name, status: res.status }).toEqual({ name, status: 400 });
      expect(err.error.issues.map((i) => i.path), name).toContain(field);
    }
    const form = new FormData();
    form.set('image', new Blob([new Uint8Array([1, 2, 3])]), 'broken.png');
    const res = await fetch(`${url}/predict`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('image');
    expect((await post({ image: Array.from(digits[0]!.image as Float32Array) })).status).toBe(200);
  });
});

describe('predictFile', () => {
  it('predicts a folder of images (nested folders too), in name order, like LoadedRun.predict', async () => {
    const dir = join(tmp, 'digits');
    await mkdir(join(dir, 'more'), { recursive: true });
    const files = ['a.png', 'b.png', 'more/c.png'];
    await Promise.all(files.map(async (f, i) => writeFile(join(dir, f), await png(digits[i]!.image as Float32Array))));
    await writeFile(join(dir, 'notes.txt'), 'not an image');
    const lines: PredictLine[] = [];
    const progress: number[] = [];
    const out = await predictFile(run, { input: dir, batchSize: 2, write: (l) => void lines.push(l), onProgress: (d) => progress.push(d) });
    expect(out.rows).toBe(3);
    expect(progress).toEqual([2, 3]);
    expect(lines.map((l) => [l.row, l.file])).toEqual([[0, 'a.png'], [1, 'b.png'], [2, join('more', 'c.png')]]);
    const want = (await run.predict(digits.slice(0, 3).map((d): Row => ({ image: d.image as Float32Array })))) as Pred[];
    for (const [i, l] of lines.entries()) expectSame(l as unknown as Pred, want[i]!);
  });
});
