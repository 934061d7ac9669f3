import { Command, CommanderError, Option } from 'commander';
import { EXIT, exitCodeFor, reportError } from './exit.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `--engine`: who computes predictions (predict, serve). */
const engineOption = () =>
  new Option('--engine <engine>', 'auto: onnxruntime-node when installed and the model exports to ONNX, else TF.js').choices(['auto', 'onnxruntime', 'tfjs']).default('auto');

/** Builds the `pipeline` command. Each verb loads its implementation lazily, so `--help` stays instant. */
export function createProgram(): Command {
  const program = new Command('pipeline')
    .description('tfpipe: composable machine-learning pipelines on TensorFlow.js')
    .version('0.1.0')
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
    .command('serve')
    .description('serve a run over HTTP: POST /predict, GET /health, /metadata, /metrics, /openapi.json')
    .argument('<run-dir>', 'a run directory')
    .option('--port <n>', 'port', (v) => Number.parseInt(v, 10), 8080)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--admin', 'enable POST /admin/reload')
    .option('--max-batch <n>', 'micro-batch size', (v) => Number.parseInt(v, 10), 32)
    .option('--batch-wait-ms <n>', 'micro-batch wait window', (v) => Number.parseInt(v, 10), 2)
    .option('--body-limit <bytes>', 'request body limit', (v) => Number.parseInt(v, 10), 10 * 1024 * 1024)
    .addOption(engineOption())
    .action(async (runDir: string, opts) => (await import('./commands/serve.js')).serveCommand(runDir, opts));

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
    .option('--volume <claim>', 'with --emit: a ReadWriteMany PersistentVolumeClaim for the sweep directory', 'tfpipe-runs')
    .option('--namespace <ns>', 'with --emit: the Kubernetes namespace')
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

/** Runs the CLI and returns the exit code (0 ok, 1 failed, 2 invalid config/usage, 3 gate failed). */
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
