import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { formatIssue, type Issue, MODEL_JSON, TfpipeError, zodIssues } from '@tfpipe/core';
import { MODEL_FILES, type ModelMetadata } from '@tfpipe/pipeline';

/**
 * The files of a run's `model/` folder, read and validated with zod before any tensor is made. Messages
 * name files relative to the run (`model/metadata.json`), never an absolute path, so an HTTP client that
 * asks for a reload learns nothing about the server's disk.
 */

const positiveInt = z.number().int().positive();

const taskSchema = z.discriminatedUnion('kind', [
  z.looseObject({ kind: z.literal('multiclass'), classes: positiveInt, labels: z.array(z.string()).optional() }),
  z.looseObject({ kind: z.literal('binary'), labels: z.array(z.string()).length(2).optional() }),
  z.looseObject({ kind: z.literal('multilabel'), classes: positiveInt, labels: z.array(z.string()).optional() }),
  z.looseObject({ kind: z.literal('regression'), outputs: positiveInt }),
]);

const rawColumnSchema = z
  .looseObject({ name: z.string().min(1), kind: z.string().min(1), shape: z.array(positiveInt).optional() })
  .refine((c) => c.kind !== 'image' || (c.shape?.length === 3 && [1, 3].includes(c.shape[2]!)), {
    message: 'an image column needs a shape [height, width, channels] with 1 or 3 channels',
    path: ['shape'],
  });

/** `model/metadata.json` (extra keys are kept: newer runs may record more). */
export const metadataFileSchema = z.looseObject({
  name: z.string().min(1),
  task: taskSchema,
  inputs: z
    .array(
      z.looseObject({
        name: z.string().min(1),
        shape: z.array(z.number().int().min(-1)),
        kind: z.enum(['image', 'tabular', 'text', 'sequence']),
        dtype: z.enum(['float32', 'int32']).optional(),
        vocabSize: positiveInt.optional(),
      }),
    )
    .min(1),
  rawColumns: z.array(rawColumnSchema).min(1),
  labels: z.array(z.string()).optional(),
  metrics: z.record(z.string(), z.number().nullable()).optional(),
  trainedAt: z.string(),
  backend: z.string().optional(),
  tfpipeVersion: z.string(),
});

const DTYPES = { float32: 4, int32: 4, bool: 1, complex64: 8 } as const;

/** `model/model.json`: a tfjs layers model whose weight files stay inside the model folder. */
export const modelJsonSchema = z.looseObject({
  modelTopology: z.record(z.string(), z.unknown()),
  format: z.string().optional(),
  weightsManifest: z.array(
    z.looseObject({
      paths: z.array(z.string().min(1)).min(1),
      weights: z.array(
        z.looseObject({
          name: z.string().min(1),
          shape: z.array(z.number().int().min(0)),
          dtype: z.enum(['float32', 'int32', 'bool', 'complex64', 'string']),
          quantization: z.unknown().optional(),
          group: z.string().optional(),
        }),
      ),
    }),
  ),
});

/** `model/preprocess.json`: the envelope; each transform's own schema is checked when it is rebuilt. */
export const preprocessFileSchema = z.looseObject({
  format: z.literal('tfpipe.preprocess'),
  version: z.literal(1),
  seed: z.number().optional(),
  transforms: z.array(z.looseObject({ config: z.looseObject({ type: z.string().min(1) }), state: z.unknown() })),
});

/** `model/tensorizer.json`: the envelope; the features spec is re-validated by Tensorizer.fromJSON. */
export const tensorizerFileSchema = z.looseObject({
  format: z.literal('tfpipe.tensorizer'),
  version: z.literal(1),
  spec: z.record(z.string(), z.unknown()),
  columns: z.array(z.looseObject({ name: z.string().min(1), kind: z.string().min(1) })),
  labels: z.unknown().optional(),
});

export type ModelJson = z.output<typeof modelJsonSchema>;

/** What `readRunFiles` gives: every file parsed and checked, the weights read. */
export interface RunFiles {
  /** The run directory as given (or resolved under the root). */
  dir: string;
  modelDir: string;
  modelJson: ModelJson;
  weightData: ArrayBuffer;
  metadata: ModelMetadata;
  preprocess: unknown;
  tensorizer: unknown;
}

function invalidFile(file: string, issues: Issue[]): TfpipeError {
  return new TfpipeError('E_MODEL', `${file} is not valid:\n${issues.map((i) => `  - ${formatIssue(i)}`).join('\n')}`, {
    issues: issues.map((i) => ({ ...i, path: [file, ...i.path] })),
    path: [file],
  });
}

async function readJsonFile<S extends z.ZodType>(path: string, shown: string, schema: S): Promise<z.output<S>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new TfpipeError('E_MODEL', `${shown}: missing or unreadable`, { path: [shown] });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new TfpipeError('E_MODEL', `${shown}: not JSON (${(e as Error).message})`, { path: [shown] });
  }
  const r = schema.safeParse(value);
  if (!r.success) throw invalidFile(shown, zodIssues(r.error, schema, [], value));
  return r.data;
}

/** True when `child` is `parent` or inside it (both real, absolute paths). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

/** The model folder of a run directory (a model folder given directly is accepted as it is). */
async function modelFolder(dir: string): Promise<string> {
  try {
    await stat(join(dir, MODEL_JSON));
    return dir;
  } catch {
    return join(dir, 'model');
  }
}

/** Checks each weight path of model.json: relative, and inside the model folder once symlinks are followed. */
async function weightFiles(modelDir: string, json: ModelJson, shown: string): Promise<string[]> {
  const realModel = await realpath(modelDir);
  const out: string[] = [];
  for (const [g, group] of json.weightsManifest.entries()) {
    for (const [k, p] of group.paths.entries()) {
      // An absolute path is not echoed back: answers name no path on the server's disk.
      const where: Issue = { path: ['weightsManifest', g, 'paths', k], message: 'a weight file must be a relative path inside the model folder', received: isAbsolute(p) ? '(an absolute path)' : p };
      if (isAbsolute(p) || /^[a-z][a-z0-9+.-]*:/i.test(p) || p.includes('\0')) throw invalidFile(shown, [where]);
      const abs = resolve(modelDir, p);
      if (!isInside(resolve(modelDir), abs)) throw invalidFile(shown, [where]);
      let real: string;
      try {
        real = await realpath(abs);
      } catch {
        throw invalidFile(shown, [{ ...where, message: 'weight file missing' }]);
      }
      if (!isInside(realModel, real)) throw invalidFile(shown, [where]);
      out.push(real);
    }
  }
  return out;
}

/** Bytes the weight specs need (undefined when a quantized or string weight makes that unknowable here). */
function expectedWeightBytes(json: ModelJson): number | undefined {
  let total = 0;
  for (const group of json.weightsManifest) {
    for (const w of group.weights) {
      if (w.quantization !== undefined || w.dtype === 'string') return undefined;
      total += w.shape.reduce((a, b) => a * b, 1) * DTYPES[w.dtype];
    }
  }
  return total;
}

/**
 * Reads and validates every file a served run needs: model.json (weight paths kept inside the model
 * folder, weight bytes matching the specs), metadata.json, preprocess.json and tensorizer.json.
 */
export async function readRunFiles(dir: string): Promise<RunFiles> {
  const modelDir = await modelFolder(dir);
  const prefix = modelDir === dir ? '' : 'model/';
  const shown = (f: string) => `${prefix}${f}`;
  const modelJson = await readJsonFile(join(modelDir, MODEL_JSON), shown(MODEL_JSON), modelJsonSchema);
  const metadata = (await readJsonFile(join(modelDir, MODEL_FILES.metadata), shown(MODEL_FILES.metadata), metadataFileSchema)) as unknown as ModelMetadata;
  const preprocess = await readJsonFile(join(modelDir, MODEL_FILES.preprocess), shown(MODEL_FILES.preprocess), preprocessFileSchema);
  const tensorizer = await readJsonFile(join(modelDir, MODEL_FILES.tensorizer), shown(MODEL_FILES.tensorizer), tensorizerFileSchema);
  const files = await weightFiles(modelDir, modelJson, shown(MODEL_JSON));
  const buffers = await Promise.all(files.map((f) => readFile(f)));
  const size = buffers.reduce((a, b) => a + b.byteLength, 0);
  const want = expectedWeightBytes(modelJson);
  if (want !== undefined && want !== size) {
    throw invalidFile(shown(MODEL_JSON), [{ path: ['weightsManifest'], message: 'the weight files do not match the weight specs', received: `${size} bytes`, expected: `${want} bytes` }]);
  }
  const weightData = new ArrayBuffer(size);
  const view = new Uint8Array(weightData);
  let o = 0;
  for (const b of buffers) {
    view.set(b, o);
    o += b.byteLength;
  }
  return { dir, modelDir, modelJson, weightData, metadata, preprocess, tensorizer };
}

/**
 * Resolves a run directory a client named (relative to `root`, or absolute) and checks that it lies inside
 * `root` once symlinks are followed. Every failure gives the same message, which names no path and does not
 * tell whether something exists.
 */
export async function resolveUnderRoot(root: string, requested: string): Promise<string> {
  const refuse = () =>
    new TfpipeError('E_DATA', 'runDir: not a run directory under the server\'s runs root', {
      issues: [{ path: ['runDir'], message: 'not a run directory under the server\'s runs root', expected: 'the name of a run directory inside the runs root' }],
      path: ['runDir'],
    });
  if (typeof requested !== 'string' || requested.length === 0 || requested.includes('\0')) throw refuse();
  let realRoot: string;
  let real: string;
  try {
    realRoot = await realpath(root);
    real = await realpath(resolve(realRoot, requested));
    if (!(await stat(real)).isDirectory()) throw refuse();
  } catch {
    throw refuse();
  }
  if (real === realRoot || !isInside(realRoot, real)) throw refuse();
  return real;
}

/** The id a run is known by in logs and answers: its folder name (the run folder, not `model/`). */
export function runId(dir: string): string {
  const b = basename(resolve(dir));
  return b === 'model' ? basename(dirname(resolve(dir))) : b;
}
