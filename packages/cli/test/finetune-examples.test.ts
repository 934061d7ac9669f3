
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline, repo, spawnResult, type Result } from './helpers.js';

// The fine-tuning examples (issue 8): every YAML validates with the real `pipeline` binary, every run.sh
// parses, and the adversarial pair runs end to end on a slice of the real MNIST digits.
const _here = dirname(fileURLToPath(import.meta.url));
const EXAMPLES = ['finetune-mnist-5-9', 'lora-sentiment', 'adversarial-mnist'];


describe.each(EXAMPLES)('examples/%s', (example) => {
  const dir = join(repo, 'examples', example);

  it('has a README, a run.sh that parses, and YAML files that validate', async () => {
    const files = await readdir(dir);
    expect(files).toContain('README.md');
    expect(files).toContain('run.sh');
    const sh = await spawnResult('sh', ['-n', join(dir, 'run.sh')]);
    expect(sh.stderr).toBe('');
    expect(sh.code).toBe(0);

    const yamls = files.filter((f) => f.endsWith('.yaml')).sort();
    expect(yamls.length).toBeGreaterThanOrEqual(2);
    for (const f of yamls) {
      const r = await pipeline(['validate', join('examples', example, f)]);
      expect(r.stdout + r.stderr, f).toContain(': valid');
      expect(r.code, `${f}: ${r.stderr}`).toBe(0);
    }
  }, 300_000);
});

describe('examples/adversarial-mnist end to end (400 training digits, 100 test digits, 2 epochs)', () => {
  let tmp: string;
  const slice = [
    '--set',
    'data.source.limit=400',
    '--set',
    'data.split.test.source.limit=100',
    '--set',
    'train.epochs=2',
    '--no-progress',
  ];
  type Evaluation = {
    metrics: Record<string, number>;
    robust?: {
      accuracy: number;
      robustAccuracy: number;
      samples: number;
      attack: { type: string; epsilon: number };
    };
  };
  const evaluations: Record<string, Evaluation> = {};
  const outputs: Record<string, Result> = {};

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tfpipe-examples-'));
    for (const name of ['plain', 'adversarial']) {
      const out = join(tmp, name);
      outputs[name] = await pipeline([
        'run',
        `examples/adversarial-mnist/${name}.yaml`,
        '--out',
        out,
        ...slice,
      ]);
      if (existsSync(join(out, 'evaluation.json')))
        evaluations[name] = JSON.parse(await readFile(join(out, 'evaluation.json'), 'utf8')) as Evaluation;
    }
  }, 300_000);
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('both runs complete and report clean and FGSM robust accuracy on the same 100 test digits', () => {
    for (const name of ['plain', 'adversarial']) {
      const r = outputs[name]!;
      expect(r.stdout + r.stderr, name).toContain('done: completed');
      expect(r.code, name).toBe(0);
      const ev = evaluations[name]!;
      expect(ev.robust, name).toBeDefined();
      expect(ev.robust!.samples).toBe(100);
      expect(ev.robust!.attack).toMatchObject({ type: 'fgsm', epsilon: 0.1 });
      // The robust section's clean figure is the evaluation's accuracy on the same rows.
      expect(ev.robust!.accuracy).toBeCloseTo(ev.metrics.accuracy!, 10);
      expect(ev.robust!.robustAccuracy).toBeLessThanOrEqual(1);
      // Ten digit classes (chance 0.1): both models learned the clean task well above chance.
      expect(ev.metrics.accuracy, name).toBeGreaterThan(0.5);
    }
  });

  it('only the adversarial run trains on FGSM rows, and it is the more robust one', async () => {
    const plainCfg = await readFile(join(tmp, 'plain', 'config.resolved.yaml'), 'utf8');
    const advCfg = await readFile(join(tmp, 'adversarial', 'config.resolved.yaml'), 'utf8');
    expect(plainCfg).not.toContain('adversarial:');
    expect(advCfg).toContain('adversarial:');
    const plain = evaluations.plain!.robust!;
    const adversarial = evaluations.adversarial!.robust!;
    // FGSM at ε = 0.1 costs the plainly trained MLP most of its accuracy.
    expect(plain.robustAccuracy).toBeLessThan(plain.accuracy);
    // By a margin (0.28 against 0.10 on this slice): FGSM training, not noise, makes it robust, above chance.
    expect(adversarial.robustAccuracy).toBeGreaterThan(plain.robustAccuracy + 0.1);
    expect(adversarial.robustAccuracy).toBeGreaterThan(0.2);
  });
});
