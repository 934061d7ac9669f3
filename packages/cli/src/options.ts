import { InvalidArgumentError, Option } from 'commander';

/**
 * The CLI's options, one typed table: commander's options, the help text and the README's options table
 * are all built from it, so what `--help` says is allowed is exactly what the parser accepts.
 */

/** What an option's value may be. Each kind parses strictly and says what it allows when it refuses. */
export type ValueKind =
  | { type: 'int'; min: number; max?: number }
  | { type: 'port' }
  | { type: 'duration' }
  | { type: 'bytes' }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'url'; protocols: readonly string[] }
  | { type: 'text' }
  | { type: 'list' };

export interface OptionSpec {
  /** Commander flags, e.g. `--batch-size <n>`; no `<value>` makes a boolean flag. */
  flags: string;
  description: string;
  value?: ValueKind;
  default?: string | number | boolean;
  required?: boolean;
}

const INT_RE = /^[+-]?\d+$/;
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const BYTES_RE = /^(\d+(?:\.\d+)?)(b|kb|mb|gb)?$/i;
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
const UNIT_BYTES: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** What a value kind allows, in words: used by the parser's refusal, the help text and the README. */
export function allowed(kind: ValueKind): string {
  switch (kind.type) {
    case 'int':
      return kind.max !== undefined ? `an integer from ${kind.min} to ${kind.max}` : `an integer >= ${kind.min}`;
    case 'port':
      return 'a port: an integer from 0 to 65535 (0: any free port)';
    case 'duration':
      return 'a duration > 0: seconds, or a number with ms, s, m or h (90, 90s, 5m, 1.5h)';
    case 'bytes':
      return 'a size > 0: bytes, or a number with kb, mb or gb (1048576, 512kb, 10mb)';
    case 'enum':
      return kind.values.map((v) => JSON.stringify(v)).join(' | ');
    case 'url':
      return `a URL (${kind.protocols.map((p) => `${p}//…`).join(' or ')})`;
    case 'text':
    case 'list':
      return 'a non-empty text';
  }
}

/** Parses one option value strictly: the value, or an `InvalidArgumentError` naming what is allowed. */
export function parseValue(kind: ValueKind, text: string): string | number {
  const refuse = (): never => {
    throw new InvalidArgumentError(`Allowed: ${allowed(kind)}.`);
  };
  const t = text.trim();
  switch (kind.type) {
    case 'int':
    case 'port': {
      const [min, max] = kind.type === 'port' ? [0, 65535] : [kind.min, kind.max];
      if (!INT_RE.test(t)) return refuse();
      const n = Number(t);
      if (!Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) return refuse();
      return n;
    }
    case 'duration': {
      const m = DURATION_RE.exec(t);
      if (!m) return refuse();
      const seconds = Number(m[1]) * UNIT_SECONDS[m[2] ?? 's']!;
      if (!(seconds > 0) || !Number.isFinite(seconds)) return refuse();
      return seconds;
    }
    case 'bytes': {
      const m = BYTES_RE.exec(t);
      if (!m) return refuse();
      const bytes = Math.round(Number(m[1]) * UNIT_BYTES[(m[2] ?? 'b').toLowerCase()]!);
      if (!(bytes > 0) || !Number.isSafeInteger(bytes)) return refuse();
      return bytes;
    }
    case 'enum':
      if (!kind.values.includes(t)) return refuse();
      return t;
    case 'url': {
      let u: URL;
      try {
        u = new URL(t);
      } catch {
        return refuse();
      }
      if (!kind.protocols.includes(u.protocol) || u.hostname === '') return refuse();
      return t;
    }
    case 'text':
    case 'list':
      if (t === '') return refuse();
      return text;
  }
}

const positive = { type: 'int', min: 1 } as const;
const setOption: OptionSpec = {
  flags: '--set <path=value>',
  description: 'override a config value, validated like the file (repeatable), e.g. --set train.epochs=3',
  value: { type: 'list' },
};
const runsDir: OptionSpec = { flags: '--dir <dir>', description: 'runs folder', value: { type: 'text' }, default: 'runs' };
const redis = { type: 'url', protocols: ['redis:', 'rediss:'] } as const;
const engine: OptionSpec = {
  flags: '--engine <engine>',
  description: 'who computes predictions; auto: onnxruntime-node when installed and the model exports to ONNX, else TF.js',
  value: { type: 'enum', values: ['auto', 'onnxruntime', 'tfjs'] },
  default: 'auto',
};

/** Every command's options, keyed by the command's path (`sweep run-trial`, `runs list`). */
export const COMMAND_OPTIONS = {
  run: [
    setOption,
    { flags: '--runs-dir <dir>', description: 'where run directories are created (default: output.dir from the config, or ./runs)', value: { type: 'text' } },
    { flags: '--out <dir>', description: 'use exactly this run directory (new, or empty)', value: { type: 'text' } },
    { flags: '--resume <run-dir>', description: 'continue a killed or interrupted run from its last checkpoint', value: { type: 'text' } },
    { flags: '--no-progress', description: 'plain lines instead of a progress bar' },
    { flags: '--json', description: 'print the run summary as JSON on stdout' },
  ],
  validate: [setOption],
  schema: [{ flags: '--out <file>', description: 'write to a file instead of stdout', value: { type: 'text' } }],
  predict: [
    { flags: '--input <path>', description: 'CSV, TSV, JSONL or JSON file, or a folder of images', value: { type: 'text' }, required: true },
    { flags: '--output <file>', description: 'JSONL output, written only when every row is predicted (default: stdout)', value: { type: 'text' } },
    { flags: '--batch-size <n>', description: 'rows per batch', value: positive, default: 256 },
    engine,
  ],
  export: [
    { flags: '--format <format>', description: 'the format to export to', value: { type: 'enum', values: ['onnx'] }, default: 'onnx' },
    { flags: '--out <file>', description: 'where to write the model (default: <run>/model/model.onnx)', value: { type: 'text' } },
  ],
  evaluate: [
    { flags: '--data <path>', description: 'a pipeline config whose data section to use, or a data file', value: { type: 'text' }, required: true },
    { flags: '--out <file>', description: 'write the evaluation JSON here', value: { type: 'text' } },
  ],
  explain: [
    { flags: '--input <path>', description: 'CSV, JSONL or JSON rows (no labels needed), or a pipeline YAML (its test split)', value: { type: 'text' }, required: true },
    { flags: '--out <dir>', description: 'writes explanations.jsonl, images/*.png and importance.json here', value: { type: 'text' }, default: 'explanations' },
    { flags: '--methods <list>', description: 'comma-separated: permutation, integrated-gradients, grad-cam', value: { type: 'text' } },
    { flags: '--examples <n>', description: 'examples to explain one by one', value: positive },
    { flags: '--steps <n>', description: 'integrated-gradients steps', value: positive },
  ],
  drift: [
    { flags: '--current <path>', description: 'a `pipeline serve --log` folder, a CSV/TSV/JSON/JSONL file, or a pipeline YAML (its test split, else all rows)', value: { type: 'text' }, required: true },
    { flags: '--out <dir>', description: 'where drift.json and drift.html go (default: the run directory)', value: { type: 'text' } },
    { flags: '--window <rows>', description: 'request log: only the most recent rows', value: positive },
    { flags: '--set <key=value>', description: 'a drift setting (repeatable), e.g. --set numeric=psi --set share=0.3 --set columns.age.threshold=0.01', value: { type: 'list' } },
    { flags: '--no-predictions', description: 'data files and configs: skip prediction drift (the model is not loaded)' },
    { flags: '--json', description: 'print drift.json on stdout' },
  ],
  serve: [
    { flags: '--port <n>', description: 'port', value: { type: 'port' }, default: 8080 },
    { flags: '--host <host>', description: 'interface to listen on', value: { type: 'text' }, default: '127.0.0.1' },
    { flags: '--admin', description: 'enable POST /admin/reload' },
    { flags: '--max-batch <n>', description: 'micro-batch size', value: positive, default: 32 },
    { flags: '--batch-wait-ms <n>', description: 'micro-batch wait window in milliseconds', value: { type: 'int', min: 0, max: 60_000 }, default: 2 },
    { flags: '--body-limit <size>', description: 'request body limit', value: { type: 'bytes' }, default: 10 * 1024 * 1024 },
    // Hardening, request log and production pointer: their values are checked in commands/serve.ts.
    { flags: '--runs-root <dir>', description: 'POST /admin/reload loads only runs inside this folder (default: the folder holding the run); token: TFPIPE_ADMIN_TOKEN', value: { type: 'text' } },
    { flags: '--production <runs-dir>', description: 'serve the run named by <runs-dir>/production and swap when it changes', value: { type: 'text' } },
    { flags: '--log <dir>', description: 'log a sample of requests to <dir>/requests-*.jsonl and take POST /feedback', value: { type: 'text' } },
    { flags: '--log-sample <rate>', description: 'with --log: fraction of requests logged, 0 < rate <= 1 (default 1)', value: { type: 'text' } },
    { flags: '--max-queue <rows>', description: 'most rows waiting for the model; more get 503 + Retry-After (default 1024)', value: { type: 'text' } },
    { flags: '--timeout-ms <ms>', description: 'a request not answered this long after it arrived gets a 503 (default 30000)', value: { type: 'text' } },
    { flags: '--explain-max-steps <n>', description: 'POST /explain: integrated-gradients steps at most', value: positive },
    { flags: '--explain-concurrency <n>', description: 'POST /explain: requests at once, more get 503 (0: off)', value: { type: 'int', min: 0 } },
    engine,
  ],
  sweep: [
    setOption,
    { flags: '--queue <redis-url>', description: 'enqueue trials on BullMQ at this Redis; workers run them', value: redis },
    { flags: '--parallel <n>', description: 'local executor: trials at once (default: one per core)', value: positive },
    { flags: '--emit <target>', description: 'write manifests instead of running (job is k8s)', value: { type: 'enum', values: ['k8s', 'job', 'argo'] } },
    { flags: '--out <dir>', description: 'sweep directory (default: <runs>/<name>-sweep-<time>)', value: { type: 'text' } },
    { flags: '--timeout <duration>', description: 'give up after this long', value: { type: 'duration' } },
    { flags: '--image <image>', description: 'with --emit: the container image that has the pipeline CLI', value: { type: 'text' }, default: 'tfpipe:latest' },
    { flags: '--volume <claim>', description: 'with --emit (without --queue): a ReadWriteMany PersistentVolumeClaim for the sweep directory', value: { type: 'text' }, default: 'tfpipe-runs' },
    { flags: '--namespace <ns>', description: 'with --emit: the Kubernetes namespace', value: { type: 'text' } },
    // Queue options: the workers send trial files back through Redis (values checked in commands/sweep.ts).
    { flags: '--models <which>', description: 'with --queue: model folders the workers send back', value: { type: 'enum', values: ['best', 'all', 'none'] }, default: 'best' },
    { flags: '--redis-timeout <seconds>', description: 'with --queue: fail once Redis has been unreachable this long', value: { type: 'text' }, default: '60' },
    { flags: '--artifacts <location>', description: 'with --queue: where workers put trial files: redis | s3://bucket/prefix (AWS_* variables)', value: { type: 'text' }, default: 'redis' },
  ],
  'sweep status': [],
  'sweep run-trial': [
    { flags: '--trial <file>', description: 'trial.json', value: { type: 'text' }, required: true },
    { flags: '--sweep-dir <dir>', description: 'the shared sweep directory', value: { type: 'text' }, required: true },
    { flags: '--summary <file>', description: 'the sweep.json to start from', value: { type: 'text' } },
  ],
  worker: [
    { flags: '--queue <redis-url>', description: 'the Redis the sweep enqueues on', value: redis, required: true },
    { flags: '--concurrency <n>', description: 'trials at once', value: positive, default: 1 },
    { flags: '--sweep <id>', description: 'work on this sweep only (default: every sweep queued)', value: { type: 'text' } },
    { flags: '--scratch <dir>', description: 'local folder trials run in (default: a new temporary folder)', value: { type: 'text' } },
    { flags: '--keep-scratch', description: "keep each trial's files in the scratch folder after sending them" },
    { flags: '--redis-timeout <seconds>', description: 'stop, exit 1, once Redis has been unreachable this long', value: { type: 'text' }, default: '60' },
    { flags: '--exit-when-done', description: 'with --sweep: exit 0 once that sweep has ended (worker pools: sweep --emit k8s --queue)' },
  ],
  'runs list': [runsDir, { flags: '--json', description: 'JSON output' }],
  'runs show': [runsDir],
  'runs compare': [runsDir],
} satisfies Record<string, OptionSpec[]>;

export type CommandPath = keyof typeof COMMAND_OPTIONS;

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The commander option of a spec: a strict parser, the allowed values in the help, the default. */
export function toOption(spec: OptionSpec): Option {
  const kind = spec.value;
  const words = kind && kind.type !== 'text' && kind.type !== 'list' ? ` [${allowed(kind)}]` : '';
  const o = new Option(spec.flags, `${spec.description}${words}`);
  if (kind?.type === 'list') o.argParser((v: string, prev: string[] | undefined) => collect(parseValue(kind, v) as string, prev));
  else if (kind) o.argParser((v: string) => parseValue(kind, v));
  if (spec.default !== undefined) o.default(spec.default);
  if (spec.required) o.makeOptionMandatory();
  return o;
}

const cell = (s: string): string => s.replaceAll('|', '\\|');

/** The README's options table (src/options-readme.ts writes it into packages/cli/README.md). */
export function optionsMarkdown(): string {
  const lines = ['| command | option | allowed | default | what it does |', '| --- | --- | --- | --- | --- |'];
  for (const [command, specs] of Object.entries(COMMAND_OPTIONS) as [string, OptionSpec[]][]) {
    for (const s of specs) {
      const allowedText = s.value ? (s.value.type === 'list' ? 'path=value, repeatable' : allowed(s.value)) : 'flag';
      const def = s.required ? 'required' : s.default !== undefined ? `\`${s.default}\`` : '';
      lines.push(`| \`pipeline ${command}\` | \`${cell(s.flags)}\` | ${cell(allowedText)} | ${def} | ${cell(s.description)} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}
