import { Command, CommanderError } from 'commander';
import { EXIT, exitCodeFor, reportError } from './exit.js';
import { COMMAND_OPTIONS, type CommandPath, type OptionSpec, toOption } from './options.js';
import { VERSION } from './index.js';

/** A command with its options from the options table. */
function withOptions(cmd: Command, path: CommandPath): Command {
  for (const spec of COMMAND_OPTIONS[path] as OptionSpec[]) cmd.addOption(toOption(spec));
  return cmd;
}

/** Builds the `pipeline` command. Each verb loads its implementation lazily, so `--help` stays instant. */
export function createProgram(): Command {
  const program = new Command('pipeline')
    .description('tfpipe: composable machine-learning pipelines on TensorFlow.js')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  withOptions(program.command('run'), 'run')
    .description('train, evaluate and save a pipeline into a new run directory')
    .argument('[config]', 'pipeline YAML file')
    .action(async (config: string | undefined, opts) => (await import('./commands/run.js')).runCommand(config, opts));

  withOptions(program.command('validate'), 'validate')
    .description('check a config (schema and cross-field checks) without training')
    .argument('<config>', 'pipeline YAML file')
    .action(async (config: string, opts) => (await import('./commands/validate.js')).validateCommand(config, opts));

  withOptions(program.command('schema'), 'schema')
    .description('print the JSON Schema of pipeline configs (for editor autocompletion)')
    .action(async (opts) => (await import('./commands/schema.js')).schemaCommand(opts));

  withOptions(program.command('predict'), 'predict')
    .description("batch predictions from a run directory, with the run's own preprocessing")
    .argument('<run-dir>', 'a run directory (or its model/ folder)')
    .action(async (runDir: string, opts) => (await import('./commands/predict.js')).predictCommand(runDir, opts));

  withOptions(program.command('export'), 'export')
    .description("export a run's model for other runtimes: model.onnx (+ onnx.json) next to the model")
    .argument('<run-dir>', 'a run directory (or its model/ folder)')
    .action(async (runDir: string, opts) => (await import('./commands/export.js')).exportCommand(runDir, opts));

  withOptions(program.command('evaluate'), 'evaluate')
    .description('evaluate a saved run on new data')
    .argument('<run-dir>', 'a run directory')
    .action(async (runDir: string, opts) => (await import('./commands/evaluate.js')).evaluateCommand(runDir, opts));

  withOptions(program.command('explain'), 'explain')
    .description('explain a saved run: attributions per column, token or pixel; permutation importance for a pipeline YAML')
    .argument('<run-dir>', 'a run directory')
    .action(async (runDir: string, opts) => (await import('./commands/explain.js')).explainCommand(runDir, opts));

  withOptions(program.command('serve'), 'serve')
    .description('serve a run over HTTP: POST /predict, POST /explain, GET /health, /metadata, /metrics, /openapi.json')
    .argument('[run-dir]', 'a run directory (omit it with --production)')
    .action(async (runDir: string | undefined, opts) => (await import('./commands/serve.js')).serveCommand(runDir, opts));

  // Drift (@tfpipe/monitor): the run's reference profile against current data.
  withOptions(program.command('drift'), 'drift')
    .description("compare current data (a serve request log, a data file or a config) with a run's reference profile; exit 3 on drift")
    .argument('<run-dir>', 'a run directory (its model/profile.json is the reference)')
    .action(async (runDir: string, opts) => (await import('./commands/drift.js')).driftCommand(runDir, opts));

  const sweep = withOptions(program.command('sweep'), 'sweep')
    .description('run the sweep: section of a config (grid, random, k-fold), locally or on a Redis queue')
    .argument('[config]', 'pipeline YAML file with a sweep: section')
    .action(async (config: string | undefined, opts) => (await import('./commands/sweep.js')).sweepCommand(config, opts));
  withOptions(sweep.command('status'), 'sweep status')
    .description('the trials table and the best trial of a sweep directory')
    .argument('<sweep-dir>')
    .action(async (dir: string) => (await import('./commands/sweep.js')).sweepStatusCommand(dir));
  withOptions(sweep.command('run-trial'), 'sweep run-trial')
    .description('run one trial from a trial file (what Kubernetes pods run)')
    .action(async (opts) => (await import('./commands/sweep.js')).runTrialCommand(opts));

  withOptions(program.command('worker'), 'worker')
    .description('pull sweep trials from a Redis queue and run them')
    .action(async (opts) => (await import('./commands/worker.js')).workerCommand(opts));

  const runs = program.command('runs').description('list, show and compare run directories');
  withOptions(runs.command('list'), 'runs list').action(async (opts) => (await import('./commands/runs.js')).runsListCommand(opts));
  withOptions(runs.command('show'), 'runs show')
    .argument('<run>', 'run directory, or a name under ./runs')
    .action(async (run: string, opts) => (await import('./commands/runs.js')).runsShowCommand(run, opts));
  withOptions(runs.command('compare'), 'runs compare')
    .argument('<runs...>', 'two or more run directories')
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
