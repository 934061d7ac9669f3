import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { Resvg } from '@resvg/resvg-js';
import type { Batch, TaskSpec } from '@tfpipe/core';
import { findChromium, skipWithout } from '@tfpipe/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMnist, oneHot } from '../__fixtures__/mnist.js';
import { robustAccuracy } from '../attacks.js';
import { type Evaluation, evaluateModel } from '../evaluation.js';
import { checkGates, gatesSchema } from '../gates.js';
import type { ClassWorstExample } from '../worst.js';
import { encodePng, examplePng, pngDataUri } from './png.js';
import type { HistoryEntry } from './plots.js';
import { writeReport } from './write.js';

// The browser on PATH (chromium, chromium-browser, google-chrome) or TFPIPE_CHROMIUM; under CI a missing one fails.
const CHROMIUM = findChromium();
const noChromium = skipWithout('Chromium', CHROMIUM !== undefined, 'no chromium, chromium-browser or google-chrome on PATH (apt-get install -y chromium, or set TFPIPE_CHROMIUM)');
const run = promisify(execFile);
const task: TaskSpec = { kind: 'multiclass', classes: 10, labels: ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'] };

let runDir: string;
let files: Awaited<ReturnType<typeof writeReport>>;
let evaluation: Evaluation;
const tempDirs: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

// Set TFPIPE_KEEP_REPORT=1 to keep the report (and Chromium's screenshot) for a look.
afterAll(async () => {
  if (process.env.TFPIPE_KEEP_REPORT) console.log(`report kept in ${runDir}`);
  else for (const d of tempDirs) await rm(d, { recursive: true, force: true });
});

beforeAll(async () => {
  await tf.setBackend('cpu');
  // A real (tiny) training run on MNIST: its history, a "before" evaluation after one epoch, and "after".
  const train = loadMnist('train', 800);
  const test = loadMnist('t10k', 300);
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ units: 32, activation: 'relu', inputShape: [784], kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }));
  m.add(tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }));
  m.compile({ optimizer: tf.train.adam(0.005), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const xs = tf.tensor2d(train.x, [800, 784]);
  const ys = oneHot(train.y, 10);
  const data = () =>
    (async function* (): AsyncGenerator<Batch> {
      for (let i = 0; i < 300; i += 100) {
        yield { xs: tf.tensor2d(test.x.subarray(i * 784, (i + 100) * 784), [100, 784]), ys: oneHot(test.y.subarray(i, i + 100), 10) };
      }
    })();
  const history: HistoryEntry[] = [];
  const fitOnce = async () => {
    const h = await m.fit(xs, ys, { epochs: 1, batchSize: 64, validationSplit: 0.25, shuffle: false, verbose: 0 });
    const get = (k: string) => Number(h.history[k]?.[0]);
    history.push({ epoch: history.length + 1, loss: get('loss'), val_loss: get('val_loss'), accuracy: get('acc'), val_accuracy: get('val_acc') });
  };
  await fitOnce();
  const before = await evaluateModel(m, data, { task });
  for (let i = 0; i < 4; i++) await fitOnce();
  tf.dispose([xs, ys]);
  evaluation = await evaluateModel(m, data, { task, metrics: ['accuracy', 'balancedAccuracy', 'f1', 'logLoss', 'rocAuc', 'ece'], worst: 12 });
  const robust = await robustAccuracy(m, data, { type: 'fgsm', epsilon: 0.1 });
  const examples = (evaluation.worst as ClassWorstExample[]).map((w) => ({
    label: w.label,
    pred: w.pred,
    confidence: w.confidence,
    index: w.index,
    pixels: test.x.subarray(w.index * 784, (w.index + 1) * 784),
    shape: [28, 28, 1],
  }));
  const bestEpoch = history.reduce((b, h) => (h.val_loss! < b.val_loss! ? h : b)).epoch;
  runDir = await tempDir('tfpipe-report-');
  files = await writeReport(runDir, {
    title: 'MNIST dense, 5 epochs',
    config: { model: { type: 'mlp', units: [32] }, train: { epochs: 5, batchSize: 64 } },
    history,
    bestEpoch,
    evaluation,
    before,
    robust: { ...robust, attack: { type: 'fgsm', epsilon: 0.1 } },
    examples,
    gates: checkGates(evaluation, gatesSchema.parse({ accuracy: { min: 0.8 }, loss: { max: 0.1 } })),
  });
}, 300_000);

describe('PNG encoder', () => {
  it('round-trips through an independent decoder (resvg)', () => {
    // 2x2 gray: black, white / mid, dark. Drawn through an SVG <image>, read back as RGBA.
    const png = encodePng(Uint8Array.of(0, 255, 128, 40), 2, 2, 1);
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="2" height="2"><image width="2" height="2" style="image-rendering:pixelated" xlink:href="${pngDataUri(png)}"/></svg>`;
    const img = new Resvg(svg).render();
    expect([img.width, img.height]).toEqual([2, 2]);
    const px = img.pixels;
    expect([px[0], px[4], px[8], px[12]]).toEqual([0, 255, 128, 40]);
    expect(px[3]).toBe(255);
  });
  it('stretches an example to its own range', () => {
    const png = examplePng({ label: 'a', pred: 'b', pixels: Float32Array.of(2, 4, 6, 4), shape: [2, 2] });
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="2" height="2"><image width="2" height="2" style="image-rendering:pixelated" xlink:href="${pngDataUri(png)}"/></svg>`;
    const px = new Resvg(svg).render().pixels;
    expect([px[0], px[4], px[8], px[12]]).toEqual([0, 128, 255, 128]);
    expect(() => examplePng({ label: 'a', pred: 'b', pixels: [1, 2, 3], shape: [2, 2] })).toThrow(/needs 4/);
  });
});

describe('writeReport', () => {
  it('writes one self-contained report.html and the plots as PNG', async () => {
    expect(files.html).toBe(join(runDir, 'report.html'));
    const html = await readFile(files.html!, 'utf8');
    // Every plot is inline SVG; nothing is fetched (no scripts, no external src/href, no @import).
    const svgs = html.match(/<svg[ >]/g) ?? [];
    expect(svgs.length).toBe(files.pngs.length);
    expect(html).not.toMatch(/<script|<link |@import|(src|href)="(https?:)?\/\//);
    expect((html.match(/src="data:image\/png;base64,/g) ?? []).length).toBe(12);
    for (const id of ['metrics', 'curves', 'per-class', 'confusion', 'roc-pr', 'calibration', 'worst', 'before-after', 'robustness', 'config']) {
      expect(html).toContain(`<section id="${id}">`);
    }
    expect(html).toContain('gates failed');
    // Plot ids are scoped per SVG, so clip paths of one plot never apply to another.
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    const pngs = (await readdir(join(runDir, 'plots'))).sort();
    expect(pngs).toEqual(
      ['before-after', 'calibration', 'confusion-matrix', 'curve-accuracy', 'curve-loss', 'per-class', 'pr', 'robustness', 'roc'].map((n) => `${n}.png`),
    );
    const sig = (await readFile(join(runDir, 'plots', 'roc.png'))).subarray(0, 8);
    expect([...sig]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  });

  it('png: false and html: false write only what is asked', async () => {
    const dir = await tempDir('tfpipe-report-');
    const f = await writeReport(dir, { evaluation }, { png: false });
    expect(f.pngs).toEqual([]);
    expect(existsSync(join(dir, 'plots'))).toBe(false);
    const g = await writeReport(dir, { evaluation }, { html: false });
    expect(g.html).toBeUndefined();
    expect(g.pngs.length).toBeGreaterThan(0);
  });

  it('binary and regression evaluations get the sections that apply to them', async () => {
    const identity = { predict: (x: tf.Tensor | tf.Tensor[]) => tf.clone(x as tf.Tensor) };
    const one = (xs: number[], ys: number[]) => () =>
      (async function* (): AsyncGenerator<Batch> {
        yield { xs: tf.tensor2d(xs, [xs.length, 1]), ys: tf.tensor2d(ys, [ys.length, 1]) };
      })();
    const bin = await evaluateModel(identity, one([0.9, 0.5, 0.5, 0.1, 0.7], [1, 1, 0, 0, 0]), { task: { kind: 'binary', labels: ['ham', 'spam'] } });
    const reg = await evaluateModel(identity, one([1.5, 2, 2, 5], [1, 2, 3, 4]), { task: { kind: 'regression', outputs: 1 } });
    const dir = await tempDir('tfpipe-report-');
    const b = await readFile((await writeReport(join(dir, 'bin'), { evaluation: bin }, { png: false })).html!, 'utf8');
    expect(b).toContain('<section id="roc-pr">');
    expect(b).toContain('spam (AUC');
    const r = await readFile((await writeReport(join(dir, 'reg'), { evaluation: reg, history: [{ epoch: 1, loss: 2 }, { epoch: 2, loss: 1 }] }, { png: false })).html!, 'utf8');
    expect(r).not.toContain('<section id="confusion">');
    expect(r).toContain('<section id="curves">');
    expect(r).toContain('abs. error');
  });

  const skipNote = noChromium ? ' [SKIPPED: no Chromium on PATH; apt-get install -y chromium]' : '';
  it.skipIf(noChromium)(`loads in headless Chromium without errors and shows the plots${skipNote}`, async () => {
    const browser = CHROMIUM!;
    const profile = await tempDir('tfpipe-chromium-');
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0'];
    const url = `file://${files.html}`;
    const dom = await run(browser, [...flags, '--dump-dom', url], { timeout: 45_000, maxBuffer: 64 << 20 });
    expect((dom.stdout.match(/<svg[ >]/g) ?? []).length).toBe(files.pngs.length);
    expect(dom.stdout).toContain('Confusion matrix');
    expect(dom.stderr).not.toMatch(/Uncaught|ERR_FILE_NOT_FOUND|Failed to load resource|net::ERR/);
    const shot = join(runDir, 'screenshot.png');
    await run(browser, [...flags, `--screenshot=${shot}`, '--window-size=1280,3800', '--hide-scrollbars', url], { timeout: 45_000 });
    const png = await readFile(shot);
    expect([...png.subarray(0, 4)]).toEqual([137, 80, 78, 71]);
    // A blank page compresses to almost nothing; a page full of plots does not.
    expect(png.length).toBeGreaterThan(100_000);
  }, 300_000);
});
