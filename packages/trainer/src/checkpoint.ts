import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { type RngState, TfpipeError, fileSystemIO, writeFileAtomic, writeJsonAtomic } from '@tfpipe/core';
import type { EpochLog } from './types.js';

export const STATE_JSON = 'state.json';
export const OPTIMIZER_BIN = 'optimizer.bin';

/** Everything besides the weights that a resumed run needs. */
export interface CheckpointState {
  /** 2: best / early-stopping / plateau states are callbacks' states (1 kept them beside the loop's). */
  version: 1 | 2;
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps done. */
  step: number;
  rng: RngState;
  /** Generator states of the model's random layers (seeded dropout), by layer path. */
  random?: Record<string, unknown>;
  stepsPerEpoch?: number;
  lr: number;
  /** Each callback's `stateDict()`, by callback name (built-ins: best-weights, early-stopping, reduce-lr-on-plateau, ...). */
  callbacks: Record<string, unknown>;
  history: EpochLog[];
  /** Set when training ended (any reason but an abort): a resume then has nothing left to do. */
  finished?: { reason: string; message?: string };
  optimizer: { type: string; specs: tf.io.WeightsManifestEntry[] };
  savedAt: string;
}

/** `<runDir>/checkpoints/<name>` */
export function checkpointDir(runDir: string, name: 'last' | 'best'): string {
  return join(runDir, 'checkpoints', name);
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes a checkpoint so that `dir` always holds a whole one: everything goes into a temporary
 * sibling folder (weights and model.json via fileSystemIO, optimizer.bin, state.json last), which then
 * replaces `dir` by two renames. A crash between them leaves `.old-<name>-*`, which `findCheckpoint` reads.
 */
export async function saveCheckpoint(
  dir: string,
  model: tfl.LayersModel,
  optimizer: { data: ArrayBuffer },
  state: CheckpointState,
): Promise<void> {
  const parent = join(dir, '..');
  const name = dir.slice(parent.length + 1);
  await mkdir(parent, { recursive: true });
  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = join(parent, `.tmp-${name}-${suffix}`);
  try {
    await model.save(fileSystemIO(tmp));
    await writeFileAtomic(join(tmp, OPTIMIZER_BIN), new Uint8Array(optimizer.data));
    await writeJsonAtomic(join(tmp, STATE_JSON), state);
    const old = join(parent, `.old-${name}-${suffix}`);
    const had = await exists(dir);
    if (had) await rename(dir, old);
    await rename(tmp, dir);
    if (had) await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw new TfpipeError('E_IO', `cannot write checkpoint ${dir}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The folder holding the newest whole checkpoint named `name`, or undefined. A crash in `saveCheckpoint`
 * leaves at most a `.tmp-<name>-*` folder (removed: the previous checkpoint is still whole) and a
 * `.old-<name>-*` one: removed when `<name>` is whole, else renamed back to `<name>` (a crash between the two
 * renames), so nothing temporary outlives the next start.
 */
export async function findCheckpoint(runDir: string, name: 'last' | 'best'): Promise<string | undefined> {
  const dir = checkpointDir(runDir, name);
  const parent = join(dir, '..');
  let entries: string[] = [];
  try {
    entries = await readdir(parent);
  } catch {
    return undefined;
  }
  for (const e of entries) if (e.startsWith(`.tmp-${name}-`)) await rm(join(parent, e), { recursive: true, force: true });
  const olds = entries.filter((e) => e.startsWith(`.old-${name}-`));
  if (!(await exists(join(dir, STATE_JSON)))) {
    let bestOld: string | undefined;
    let bestEpoch = -1;
    for (const o of olds) {
      const s = await readState(join(parent, o)).catch(() => undefined);
      if (s && s.epoch > bestEpoch) {
        bestEpoch = s.epoch;
        bestOld = o;
      }
    }
    if (bestOld === undefined) return undefined;
    await rm(dir, { recursive: true, force: true });
    await rename(join(parent, bestOld), dir);
  }
  for (const o of olds) await rm(join(parent, o), { recursive: true, force: true });
  return dir;
}

export async function readState(dir: string): Promise<CheckpointState> {
  const text = await readFile(join(dir, STATE_JSON), 'utf8');
  return JSON.parse(text) as CheckpointState;
}

/** A checkpoint's weights as tensors in the model's weight order, shape-checked (the caller disposes them). */
export async function readCheckpointTensors(dir: string, model: tfl.LayersModel): Promise<tf.Tensor[]> {
  const artifacts = await fileSystemIO(dir).load!();
  const specs = artifacts.weightSpecs ?? [];
  const map = tf.io.decodeWeights(artifacts.weightData!, specs);
  const weights = model.weights;
  const fail = (message: string): never => {
    for (const t of Object.values(map)) t.dispose();
    throw new TfpipeError('E_MODEL', `checkpoint ${dir}: ${message}`, { hint: 'Resume with the same model config the run started with.' });
  };
  if (weights.length !== specs.length) fail(`holds ${specs.length} weights; the model has ${weights.length}`);
  specs.forEach((s, i) => {
    const t = map[s.name]!;
    const want = weights[i]!.shape;
    if (t.shape.join(',') !== want.join(',')) fail(`weight ${i} (${s.name}) has shape [${t.shape}]; the model expects [${want}]`);
  });
  return specs.map((s) => map[s.name]!);
}

/** Puts a checkpoint's weights into `model`, by position (same architecture). */
export async function loadCheckpointWeights(dir: string, model: tfl.LayersModel): Promise<void> {
  const values = await readCheckpointTensors(dir, model);
  try {
    model.setWeights(values);
  } finally {
    tf.dispose(values);
  }
}

/** The optimizer slots a checkpoint holds. */
export async function readOptimizerData(dir: string): Promise<ArrayBuffer> {
  const buf = await readFile(join(dir, OPTIMIZER_BIN));
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}
