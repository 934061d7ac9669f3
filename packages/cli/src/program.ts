import { Command, CommanderError, Option } from 'commander';
import { EXIT, exitCodeFor, reportError } from './exit.js';
import { VERSION } from './index.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `--engine`: who computes predictions (predict, serve). */
const engineOption = () =>
  new Option('--engine <engine>', 'auto: onnxruntime-node when installed and the model exports to ONNX, else TF.js').choices(['auto', 'onnxruntime', 'tfjs']).default('auto');

/** Builds the `pipeline` command. Each verb loads its implementation lazily, so `--help` stays instant. */
export function createProgram(): Command {
  const program = new Command('pipeline')
    .description('tfpipe: composable machine-learning pipelines on TensorFlow.js')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  const setOption = new Option('--set <path=value>', 'override a config value, validated like the file (repeatable), e.g. --set train.epochs=3').argParser(collect);

  program
    .command('run')
    .description('train, evaluate and save a pipeline into a new run directory')
    .argument('[config]', 'pipeline YAML file')
    .addOption(setOption)
    .option('--runs-dir <dir>', 'where run directories are created (default: output.dir from the config, or ./runs)')
    .option('--out <dir>', 'use exactly this run directory')
    .option('--resume <run-dir>', 'continue a killed or interrupted run from its last checkpoint')
    .option('--no-progress', 'plain lines instead of a progress bar')
    .option('--json', 'print the run summary as JSON on stdout')
    .action(async (config: string | undefined, opts) => (await import('./commands/run.js')).runCommand(config, opts));

  program
    .command('validate')
    .description('check a config (schema and cross-field checks) without training')
    .argument('<config>', 'pipeline YAML file')
    .addOption(setOption)
    .action(async (config: string, opts) => (await import('./commands/validate.js')).validateCommand(config, opts));

  program
    .command('schema')
    .description('print the JSON Schema of pipeline configs (for editor autocompletion)')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (opts) => (await import('./commands/schema.js')).schemaCommand(opts));

  program
    .command('predict')
    .description('batch predictions from a run directory, with the run\'s own preprocessing')
    .argument('<run-dir>', 'a run directory (or its model/ folder)')
    .requiredOption('--input <path>', 'CSV, JSONL or JSON file, or a folder of images')
    .option('--output <file>', 'JSONL output (default: stdout)')
    .option('--batch-size <n>', 'rows per batch', (v) => Number.parseInt(v, 10), 256)
    .addOption(engineOption())
    .action(async (runDir: string, opts) => (await import('./commands/predict.js')).predictCommand(runDir, opts));

  program
    .command('export')
    .description('export a run\'s model for other runtimes: model.onnx (+ onnx.json) next to the model')
    .argument('<run-dir>', 'a run directory (or its model/ folder)')
    .option('--format <format>', 'onnx', 'onnx')
    .option('--out <file>', 'where to write the model (default: <run>/model/model.onnx)')
    .action(async (runDir: string, opts) => (await import('./commands/export.js')).exportCommand(runDir, opts));

  program
    .command('evaluate')
    .description('evaluate a saved run on new data')
    .argument('<run-dir>', 'a run directory')
    .requiredOption('--data <path>', 'a pipeline config whose data section to use, or a data file')
    .option('--out <file>', 'write the evaluation JSON here')
    .action(async (runDir: string, opts) => (await import('./commands/evaluate.js')).evaluateCommand(runDir, opts));

  program
    .command('explain')
    .description('explain a saved run: attributions per column, token or pixel; permutation importance for a pipeline YAML')
    .argument('<run-dir>', 'a run directory')
    .requiredOption('--input <path>', 'CSV, JSONL or JSON rows (no labels needed), or a pipeline YAML (its test split)')
    .option('--out <dir>', 'writes explanations.jsonl, images/*.png and importance.json here', 'explanations')
    .option('--methods <list>', 'comma-separated: permutation, integrated-gradients, grad-cam')
    .option('--examples <n>', 'examples to explain one by one', (v) => Number.parseInt(v, 10))
    .option('--steps <n>', 'integrated-gradients steps', (v) => Number.parseInt(v, 10))
    .action(async (runDir: string, opts) => (await import('./commands/explain.js')).explainCommand(runDir, opts));

  program
    .command('serve')
    .description('serve a run over HTTP: POST /predict, POST /explain, GET /health, /metadata, /metrics, /openapi.json')
    .argument('[run-dir]', 'a run directory (omit it with --production)')
    .option('--port <n>', 'port', (v) => Number.parseInt(v, 10), 8080)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--admin', 'enable POST /admin/reload')
    .option('--max-batch <n>', 'micro-batch size', (v) => Number.parseInt(v, 10), 32)
    .option('--batch-wait-ms <n>', 'micro-batch wait window', (v) => Number.parseInt(v, 10), 2)
    .option('--body-limit <bytes>', 'request body limit', (v) => Number.parseInt(v, 10), 10 * 1024 * 1024)
    // Hardening, request log and production pointer (issues 15 and 17): values checked in commands/serve.ts.
    .option('--runs-root <dir>', 'POST /admin/reload loads only runs inside this folder (default: the folder holding the run); token: TFPIPE_ADMIN_TOKEN')
    .option('--production <runs-dir>', 'serve the run named by <runs-dir>/production and swap when it changes')
    .option('--log <dir>', 'log a sample of requests to <dir>/requests-*.jsonl and take POST /feedback')
    .option('--log-sample <rate>', 'with --log: fraction of requests logged, 0 < rate <= 1 (default 1)')
    .option('--max-queue <rows>', 'most rows waiting for the model; more get 503 + Retry-After (default 1024)')
    .option('--timeout-ms <ms>', 'a request not answered this long after it arrived gets a 503 (default 30000)')
    .option('--explain-max-steps <n>', 'POST /explain: integrated-gradients steps at most', (v) => Number.parseInt(v, 10))
    .option('--explain-concurrency <n>', 'POST /explain: requests at once, more get 503 (0: off)', (v) => Number.parseInt(v, 10))
    .addOption(engineOption())
    .action(async (runDir: string | undefined, opts) => (await import('./commands/serve.js')).serveCommand(runDir, opts));

  // Drift (@tfpipe/monitor): the run's reference profile against current data.
  program
    .command('drift')
    .description('compare current data (a serve request log, a data file or a config) with a run\'s reference profile; exit 3 on drift')
    .argument('<run-dir>', 'a run directory (its model/profile.json is the reference)')
    .requiredOption('--current <path>', 'a `pipeline serve --log` folder, a CSV/TSV/JSON/JSONL file, or a pipeline YAML (its test split, else all rows)')
    .option('--out <dir>', 'where drift.json and drift.html go (default: the run directory)')
    .option('--window <rows>', 'request log: only the most recent rows', (v) => Number.parseInt(v, 10))
    .option('--set <key=value>', 'a drift setting (repeatable), e.g. --set numeric=psi --set share=0.3 --set columns.age.threshold=0.01', collect)
    .option('--no-predictions', 'data files and configs: skip prediction drift (the model is not loaded)')
    .option('--json', 'print drift.json on stdout')
    .action(async (runDir: string, opts) => (await import('./commands/drift.js')).driftCommand(runDir, opts));

  const sweep = program
    .command('sweep')
    .description('run the sweep: section of a config (grid, random, k-fold), locally or on a Redis queue')
    .argument('[config]', 'pipeline YAML file with a sweep: section')
    .addOption(setOption)
    .option('--queue <redis-url>', 'enqueue trials on BullMQ at this Redis; workers run them')
    .option('--parallel <n>', 'local executor: trials at once (default: one per core)', (v) => Number.parseInt(v, 10))
    .option('--emit <target>', 'write manifests instead of running: k8s | argo')
    .option('--out <dir>', 'sweep directory (default: <runs>/<name>-sweep-<time>)')
    .option('--timeout <seconds>', 'give up after this long', (v) => Number.parseInt(v, 10))
    .option('--image <image>', 'with --emit: the container image that has the pipeline CLI', 'tfpipe:latest')
    .option('--volume <claim>', 'with --emit (without --queue): a ReadWriteMany PersistentVolumeClaim for the sweep directory', 'tfpipe-runs')
    .option('--namespace <ns>', 'with --emit: the Kubernetes namespace')
    // Queue options (issue 21): the workers send trial files back through Redis.
    .option('--models <which>', 'with --queue: model folders the workers send back: best | all | none', 'best')
    .option('--redis-timeout <seconds>', 'with --queue: fail once Redis has been unreachable this long', '60')
    .option('--artifacts <location>', 'with --queue: where workers put trial files: redis | s3://bucket/prefix (AWS_* variables)', 'redis')
    .action(async (config: string | undefined, opts) => (await import('./commands/sweep.js')).sweepCommand(config, opts));
  sweep
    .command('status')
    .description('the trials table and the best trial of a sweep directory')
    .argument('<sweep-dir>')
    .action(async (dir: string) => (await import('./commands/sweep.js')).sweepStatusCommand(dir));

  sweep
    .command('run-trial')
    .description('run one trial from a trial file (what Kubernetes pods run)')
    .requiredOption('--trial <file>', 'trial.json')
    .requiredOption('--sweep-dir <dir>', 'the shared sweep directory')
    .option('--summary <file>', 'the sweep.json to start from')
    .action(async (opts) => (await import('./commands/sweep.js')).runTrialCommand(opts));

  program
    .command('worker')
    .description('pull sweep trials from a Redis queue and run them')
    .requiredOption('--queue <redis-url>', 'the Redis the sweep enqueues on')
    .option('--concurrency <n>', 'trials at once', (v) => Number.parseInt(v, 10), 1)
    .option('--sweep <id>', 'work on this sweep only (default: every sweep queued)')
    // Issue 21: trials run in a local folder; their files go back through Redis.
    .option('--scratch <dir>', 'local folder trials run in (default: a new temporary folder)')
    .option('--keep-scratch', 'keep each trial\'s files in the scratch folder after sending them')
    .option('--redis-timeout <seconds>', 'stop, exit 1, once Redis has been unreachable this long', '60')
    .option('--exit-when-done', 'with --sweep: exit 0 once that sweep has ended (worker pools: sweep --emit k8s --queue)')
    .action(async (opts) => (await import('./commands/worker.js')).workerCommand(opts));

  const runs = program.command('runs').description('list, show and compare run directories');
  runs
    .command('list')
    .option('--dir <dir>', 'runs folder', 'runs')
    .option('--json', 'JSON output')
    .action(async (opts) => (await import('./commands/runs.js')).runsListCommand(opts));
  runs
    .command('show')
    .argument('<run>', 'run directory, or a name under ./runs')
    .option('--dir <dir>', 'runs folder', 'runs')
    .action(async (run: string, opts) => (await import('./commands/runs.js')).runsShowCommand(run, opts));
  runs
    .command('compare')
    .argument('<runs...>', 'two or more run directories')
    .option('--dir <dir>', 'runs folder', 'runs')
    .action(async (list: string[], opts) => (await import('./commands/runs.js')).runsCompareCommand(list, opts));

  return program;
}

/** Runs the CLI and returns the exit code (0 ok, 1 failed, 2 invalid config/usage, 3 gate failed or drift detected). */
export async function main(argv: string[]): Promise<number> {
  const program = createProgram();
  let code: number = EXIT.ok;
  try {
    await program.parseAsync(argv);
    code = typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    reportError(e);
    code = exitCodeFor(e);
  }
  return code;
}
