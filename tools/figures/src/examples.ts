/**
 * What `pnpm figures` runs: every example under examples/, as its README runs it (the same configs, the same
 * output folders the later steps read, the same data preparation), and which figures it reports.
 */

/** One `pipeline run` of an example. */
export interface Step {
  /** Config file, relative to the repository root. */
  config: string;
  /** Run directory, relative to the repository root (a later step may read it, e.g. finetune.base). */
  out: string;
  label: string;
  /** The exit code the run is meant to end with (gate-failure ends with 3). */
  exitCode?: number;
}

export interface ExampleSpec {
  name: string;
  /** On an idle 2-core machine: cheap, under 10 s; medium, under a minute or two; long, several minutes (MNIST at full size). */
  cost: 'cheap' | 'medium' | 'long';
  /** A tools/data script that writes the example's data file, run when `file` is missing. */
  prepare?: { script: string; file: string };
  steps: Step[];
}

const one = (name: string, cost: ExampleSpec['cost'], extra: Partial<ExampleSpec> = {}, exitCode?: number): ExampleSpec => ({
  name,
  cost,
  steps: [{ config: `examples/${name}/pipeline.yaml`, out: `runs/figures/${name}`, label: name, ...(exitCode === undefined ? {} : { exitCode }) }],
  ...extra,
});

const sentiment = { script: 'tools/data/prepare-sentiment.ts', file: 'examples/sentiment-lstm/sentences.jsonl' };

export const EXAMPLES: ExampleSpec[] = [
  one('iris-mlp', 'cheap'),
  one('iris-logistic', 'cheap'),
  one('early-stopping', 'cheap'),
  one('gate-failure', 'cheap', {}, 3),
  one('cars-regression', 'cheap', { prepare: { script: 'tools/data/prepare-cars.ts', file: 'examples/cars-regression/cars.jsonl' } }),
  one('sentiment-lstm', 'medium', { prepare: sentiment }),
  one('sentiment-transformer', 'medium', { prepare: sentiment }),
  one('spam-fusion', 'medium', { prepare: { script: 'tools/data/prepare-spam.ts', file: 'examples/spam-fusion/emails.jsonl' } }),
  one('mnist-cnn-zoo', 'medium'),
  one('mnist-cnn', 'long'),
  one('explain-mnist', 'medium'),
  one('dp-mnist', 'long'),
  {
    name: 'adversarial-mnist',
    cost: 'medium',
    steps: [
      { config: 'examples/adversarial-mnist/plain.yaml', out: 'runs/mnist-plain', label: 'plain training' },
      { config: 'examples/adversarial-mnist/adversarial.yaml', out: 'runs/mnist-adversarial', label: 'adversarial training' },
    ],
  },
  {
    name: 'finetune-mnist-5-9',
    cost: 'medium',
    steps: [
      { config: 'examples/finetune-mnist-5-9/base.yaml', out: 'runs/mnist-0-4', label: 'base (digits 0-4)' },
      { config: 'examples/finetune-mnist-5-9/finetune.yaml', out: 'runs/mnist-5-9-finetune', label: 'fine-tuned to 5-9' },
      { config: 'examples/finetune-mnist-5-9/scratch.yaml', out: 'runs/mnist-5-9-scratch', label: 'from scratch on 5-9' },
    ],
  },
  {
    name: 'lora-sentiment',
    cost: 'medium',
    steps: [
      { config: 'examples/lora-sentiment/base.yaml', out: 'runs/reviews-transformer', label: 'base (IMDB)' },
      { config: 'examples/lora-sentiment/lora.yaml', out: 'runs/yelp-lora', label: 'LoRA on Yelp' },
      { config: 'examples/lora-sentiment/full.yaml', out: 'runs/yelp-full', label: 'full fine-tune on Yelp' },
    ],
  },
];
