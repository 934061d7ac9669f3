import { TfpipeError, type Logger } from '@tfpipe/core';
import { z } from 'zod';

/** `tracking.mlflow`: send params, per-epoch metrics and test metrics to an MLflow tracking server. */
export const mlflowSchema = z
  .object({
    uri: z.string().url().describe('The tracking server, e.g. http://127.0.0.1:5000'),
    experiment: z.string().min(1).optional().describe('Experiment name (created if missing); default: the pipeline name'),
    timeoutMs: z.number().int().positive().default(10_000).describe('Per-request timeout'),
  })
  .strict();
export type MlflowConfig = z.output<typeof mlflowSchema>;

export const trackingSchema = z
  .object({ mlflow: mlflowSchema.optional().describe('MLflow REST API sink') })
  .strict();

/** Flattens a config into MLflow params (`train.optimizer.learningRate` → "0.001"); MLflow caps values at 500 chars. */
export function configParams(config: unknown, prefix = '', out: { key: string; value: string }[] = []): { key: string; value: string }[] {
  if (config && typeof config === 'object' && !Array.isArray(config)) {
    for (const [k, v] of Object.entries(config)) configParams(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (config !== undefined) {
    out.push({ key: prefix, value: (typeof config === 'string' ? config : JSON.stringify(config)).slice(0, 500) });
  }
  return out;
}

/**
 * A run on an MLflow tracking server, spoken to through its REST API (api/2.0/mlflow). Opening the run
 * fails loudly (before training); a later failure is logged once and stops the sink, so a flaky tracking
 * server never costs a finished training.
 */
export class MlflowRun {
  private chain: Promise<void> = Promise.resolve();
  private broken: string | undefined;

  private constructor(
    private readonly config: MlflowConfig,
    readonly runId: string,
    readonly experimentId: string,
    private readonly log: Logger,
  ) {}

  private static async call<T>(config: MlflowConfig, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const url = new URL(`/api/2.0/mlflow/${path}`, config.uri);
    const res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(config.timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) {
      const err = new TfpipeError('E_IO', `MLflow ${method} ${url.pathname}: HTTP ${res.status} ${text.slice(0, 200)}`);
      (err as unknown as { status: number }).status = res.status;
      throw err;
    }
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** Finds or creates the experiment, creates the run and logs the config as params. */
  static async start(config: MlflowConfig, run: { name: string; config: unknown; tags?: Record<string, string> }, log: Logger): Promise<MlflowRun> {
    const experiment = config.experiment ?? run.name;
    let experimentId: string;
    try {
      try {
        const got = await MlflowRun.call<{ experiment: { experiment_id: string } }>(config, 'GET', `experiments/get-by-name?experiment_name=${encodeURIComponent(experiment)}`);
        experimentId = got.experiment.experiment_id;
      } catch (e) {
        if ((e as { status?: number }).status !== 404) throw e;
        experimentId = (await MlflowRun.call<{ experiment_id: string }>(config, 'POST', 'experiments/create', { name: experiment })).experiment_id;
      }
      const created = await MlflowRun.call<{ run: { info: { run_id: string } } }>(config, 'POST', 'runs/create', {
        experiment_id: experimentId,
        run_name: run.name,
        start_time: Date.now(),
        tags: Object.entries({ 'mlflow.source.name': 'tfpipe', ...run.tags }).map(([key, value]) => ({ key, value })),
      });
      const mlflow = new MlflowRun(config, created.run.info.run_id, experimentId, log);
      const params = configParams(run.config);
      for (let i = 0; i < params.length; i += 100) {
        await MlflowRun.call(config, 'POST', 'runs/log-batch', { run_id: mlflow.runId, params: params.slice(i, i + 100) });
      }
      log.info(`mlflow: run ${mlflow.runId} in experiment "${experiment}" at ${config.uri}`);
      return mlflow;
    } catch (e) {
      throw new TfpipeError('E_IO', `tracking.mlflow: cannot start a run at ${config.uri}: ${(e as Error).message}`, {
        path: ['tracking', 'mlflow', 'uri'],
        hint: 'Check that the MLflow server is running and reachable, or remove tracking.mlflow.',
        cause: e,
      });
    }
  }

  private send(path: string, body: unknown): void {
    this.chain = this.chain.then(async () => {
      if (this.broken) return;
      try {
        await MlflowRun.call(this.config, 'POST', path, body);
      } catch (e) {
        this.broken = (e as Error).message;
        this.log.warn(`mlflow: logging stopped after an error (the run goes on): ${this.broken}`);
      }
    });
  }

  /** Numeric entries of `values` as metrics at `step`. */
  logMetrics(values: Record<string, unknown>, step: number, prefix = ''): void {
    const timestamp = Date.now();
    const metrics = Object.entries(values)
      .filter(([k, v]) => typeof v === 'number' && Number.isFinite(v) && k !== 'epoch')
      .map(([key, value]) => ({ key: `${prefix}${key}`, value: value as number, timestamp, step }));
    if (metrics.length) this.send('runs/log-batch', { run_id: this.runId, metrics });
  }

  /** Marks the run FINISHED or FAILED and waits for everything queued. Returns the error that stopped logging, if any. */
  async finish(status: 'FINISHED' | 'FAILED' | 'KILLED'): Promise<string | undefined> {
    this.send('runs/update', { run_id: this.runId, status, end_time: Date.now() });
    await this.chain;
    return this.broken;
  }
}
