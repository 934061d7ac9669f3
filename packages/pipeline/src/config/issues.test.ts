import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyModel } from '@tfpipe/test-utils';
import { describe, expect, it } from 'vitest';
import { TfpipeError, type Issue } from '@tfpipe/core';
import { openSource } from '@tfpipe/data';
import { createAttack, createMetric } from '@tfpipe/evaluate';
import { createPerturb, evaluateRobustness, planLora, replaceHead } from '@tfpipe/finetune';
import { loadPipelineConfig } from './pipeline-config.js';

/** The TfpipeError a call throws (a bare ZodError, or anything else, fails the test). */
async function issuesOf(f: () => unknown): Promise<Issue[]> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(TfpipeError);
    return (e as TfpipeError).issues;
  }
  throw new Error('expected an error');
}

describe('one converter for zod errors', () => {
  it('words the same typo the same way in a config file and in every public function, with its path, and never throws a bare ZodError', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tfpipe-issues-'));
    await writeFile(join(dir, 'p.yaml'), 'name: a\ndata: { source: { type: csv, path: x.csv }, label: y }\nmodel: { type: mlp }\ntrain:\n  adversarial: { epsilom: 0.1 }\n');
    const task = { kind: 'multiclass', classes: 3 } as const;
    const cases: [string, () => unknown, (string | number)[]][] = [
      ['config file', () => loadPipelineConfig(join(dir, 'p.yaml')), ['train', 'adversarial', 'epsilom']],
      ['createPerturb', () => createPerturb({ epsilom: 0.1 } as never), ['train', 'adversarial', 'epsilom']],
      ['evaluateRobustness', () => evaluateRobustness(tinyModel(), async function* () {}, { epsilom: 0.1 } as never), ['evaluate', 'robust', 'epsilom']],
      ['createAttack', () => createAttack({ type: 'fgsm', epsilom: 0.1 } as never), ['attack', 'epsilom']],
      ['replaceHead', () => replaceHead(tinyModel(), { dropTop: 1, unit: [4] } as never, { task, seed: 1 } as never), ['finetune', 'head', 'unit']],
      ['planLora', () => planLora(tinyModel(), { target: ['*'], rnak: 2 } as never, { seed: 1 }), ['finetune', 'lora', 'rnak']],
      ['openSource', () => openSource({ type: 'csv', path: 'x.csv', delimeter: ';' } as never, { baseDir: dir }), ['data', 'source', 'delimeter']],
      ['createMetric', () => createMetric({ type: 'topKAccuracy', kk: 3 }, task, undefined, ['evaluate', 'metrics', 0]), ['evaluate', 'metrics', 0, 'kk']],
    ];
    for (const [name, call, path] of cases) {
      const issues = await issuesOf(call);
      const typo = issues.find((i) => i.code === 'unknown_key');
      expect(typo, name).toBeDefined();
      expect(typo!.path, name).toEqual(path);
      expect(typo!.message, name).toBe('unknown key');
      expect(typo!.expected, name).toMatch(/^one of /);
      expect(typo!.suggestion, name).toBeDefined();
    }
  });

  it('says the value received and what is allowed the same way everywhere', async () => {
    const fromFunction = (await issuesOf(() => createPerturb({ epsilon: -1 }))).find((i) => i.path.at(-1) === 'epsilon');
    expect(fromFunction).toMatchObject({ code: 'out_of_range', message: 'out of range', received: -1, expected: 'a number >= 0' });
    const wrongType = (await issuesOf(() => createAttack({ type: 'fgsm', epsilon: 'big' } as never)))[0];
    expect(wrongType).toMatchObject({ code: 'wrong_type', path: ['attack', 'epsilon'], received: 'big', expected: 'a number' });
  });
});
