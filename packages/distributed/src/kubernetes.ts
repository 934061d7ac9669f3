import { join } from 'node:path';
import { TfpipeError, writeFileAtomic } from '@tfpipe/core';
import { stringify } from 'yaml';
import { expandSweep } from './expand.js';
import { SWEEP_FILES, createSweepId, initialSummary } from './sweep.js';
import { type SweepConfig, type SweepInput, resolveSweep } from './sweep-schema.js';
import type { Trial } from './types.js';

export interface EmitKubernetesOptions {
  /** Container image with the `pipeline` CLI and the project (configs, data or access to it). */
  image: string;
  namespace?: string;
  /**
   * A PersistentVolumeClaim every pod mounts (ReadWriteMany): the sweep directory lives on it. Required unless
   * `workers` is given.
   */
  sharedVolume?: string | { claimName: string; mountPath?: string };
  /**
   * Instead of one pod per trial on a shared volume: a pool of `parallelism` queue workers (`pipeline worker
   * --queue <url> --sweep <id> --exit-when-done`) that needs no volume. The coordinator runs elsewhere
   * (`pipeline sweep config.yaml --queue <url> --out <dir>/<sweepId>`) and collects the trial files through Redis
   * (or `artifacts`, an s3:// location). The pods need Redis and the data: URLs, or paths inside the image.
   */
  workers?: { queue: string; prefix?: string };
  format?: 'job' | 'argo';
  sweepId?: string;
  /** Write `<sweepId>.<format>.yaml` here. */
  outDir?: string;
  /** Pods at once; defaults to `sweep.parallel`, else all trials. */
  parallelism?: number;
  /** The program and leading arguments that run one trial (`--trial`, `--sweep-dir`, `--summary` follow). */
  command?: string[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  serviceAccountName?: string;
}

/** A data location in the trial configs and whether pods can reach it. */
export interface DataLocation {
  /** Config path, e.g. `data.source.path`. */
  path: string;
  value: string;
  /** `url`: every pod reads it; `volume`: on the volume the manifest mounts; `local`: a path on the machine that emitted it. */
  reach: 'url' | 'volume' | 'local';
}

/** The data locations of a config (source `path`, `images`, `labels`, `dir`; `finetune.base`) and how pods reach them. */
export function dataLocations(config: unknown, mountPath?: string): DataLocation[] {
  const out: DataLocation[] = [];
  const walk = (v: unknown, at: string[], key?: string) => {
    if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) walk(x, [...at, String(i)]);
      return;
    }
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    const isSource = typeof o.type === 'string';
    for (const [k, x] of Object.entries(o)) {
      const here = [...at, k];
      if (typeof x === 'string' && ((isSource && ['path', 'images', 'labels', 'dir'].includes(k)) || (key === 'finetune' && k === 'base'))) {
        const reach = /^(https?|s3):\/\//i.test(x) ? 'url' : mountPath && x.startsWith(`${mountPath}/`) ? 'volume' : 'local';
        out.push({ path: here.join('.'), value: x, reach });
      } else walk(x, here, k);
    }
  };
  walk(config, []);
  return out;
}

export interface EmittedManifests {
  sweepId: string;
  trials: Trial[];
  /** Where the trial configs read data, and how pods reach it (`pipeline sweep --emit` prints it). */
  data: DataLocation[];
  manifests: Record<string, unknown>[];
  /** All manifests as one multi-document YAML. */
  yaml: string;
  file?: string;
}

/** Where pods read their trial (the ConfigMap) from. */
export const TRIALS_MOUNT = '/etc/tfpipe/trials';
const CONFIGMAP_LIMIT = 1_000_000; // Kubernetes caps a ConfigMap at 1 MiB (etcd's value limit).
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A DNS-1123 label of at most `max` characters (room for the index suffix Kubernetes adds to pod names). */
export function kubeName(s: string, max = 50): string {
  const out = s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+/, '').slice(0, max).replace(/-+$/, '');
  return out || 'sweep';
}

function need(cond: unknown, what: string): void {
  if (!cond) throw new TfpipeError('E_INTERNAL', `emitted Kubernetes manifest is invalid: ${what}`);
}

/** Structural checks of the manifests this module writes (no cluster is contacted). */
export function validateManifest(m: Record<string, unknown>): void {
  const meta = m.metadata as Record<string, unknown> | undefined;
  need(typeof m.apiVersion === 'string' && typeof m.kind === 'string', 'apiVersion and kind are required');
  const name = (meta?.name ?? meta?.generateName) as string | undefined;
  need(typeof name === 'string' && DNS_LABEL.test(name.replace(/-$/, '')) && name.length <= 63, `metadata.name "${name}" must be a DNS-1123 label`);
  if (m.kind === 'ConfigMap') {
    const data = m.data as Record<string, string>;
    for (const k of Object.keys(data)) need(/^[-._a-zA-Z0-9]+$/.test(k), `ConfigMap key "${k}"`);
  }
  if (m.kind === 'Job') {
    const spec = m.spec as Record<string, unknown>;
    if (spec.completionMode === undefined) {
      // A work queue: `parallelism` pods, done once they have all ended and one succeeded.
      need(Number.isInteger(spec.parallelism) && (spec.parallelism as number) > 0 && spec.completions === undefined, 'a work-queue Job needs parallelism and no completions');
    } else {
      need(spec.completionMode === 'Indexed', 'Job.spec.completionMode must be Indexed');
      need(Number.isInteger(spec.completions) && (spec.completions as number) > 0, 'Job.spec.completions');
    }
    const pod = (spec.template as { spec: Record<string, unknown> }).spec;
    need(pod.restartPolicy === 'Never' || pod.restartPolicy === 'OnFailure', 'a Job pod needs restartPolicy Never or OnFailure');
    need(Array.isArray(pod.containers) && pod.containers.length > 0, 'a Job pod needs containers');
  }
  if (m.kind === 'Workflow') {
    const spec = m.spec as { entrypoint: string; templates: { name: string }[] };
    need(spec.templates.some((t) => t.name === spec.entrypoint), 'Workflow.spec.entrypoint must name a template');
  }
}

/**
 * `pipeline sweep config.yaml --emit k8s`: writes a ConfigMap with one trial per key and an Indexed Job
 * (one completion index per trial) or an Argo Workflow that runs them. Each pod runs
 * `pipeline sweep run-trial --trial <its trial> --sweep-dir <shared>/<sweepId>`. Grid and random only:
 * successive halving decides its later rungs from results, which a static manifest cannot.
 */
export async function emitKubernetes(
  input: { config: unknown; sweep?: SweepInput | SweepConfig },
  options: EmitKubernetesOptions,
): Promise<EmittedManifests> {
  const sweep = resolveSweep(input.config, input.sweep);
  if (sweep.method === 'halving') {
    throw new TfpipeError('E_USAGE', 'method halving cannot be emitted as Kubernetes manifests: later rungs depend on results', {
      path: ['sweep', 'method'],
      hint: 'Use method grid or random with --emit k8s, or run halving with --queue and workers in the cluster.',
    });
  }
  const trials = expandSweep(input.config, sweep);
  const name = (input.config as { name?: string } | undefined)?.name ?? 'sweep';
  const sweepId = kubeName(options.sweepId ?? createSweepId(name));
  const namespace = options.namespace ?? 'default';
  if (options.workers) return emitWorkerPool(sweep, trials, sweepId, options, options.workers);
  if (!options.sharedVolume) {
    throw new TfpipeError('E_USAGE', 'Kubernetes manifests need a shared volume (sharedVolume) for one pod per trial, or workers: { queue } for a pool of queue workers without one');
  }
  const volume = typeof options.sharedVolume === 'string' ? { claimName: options.sharedVolume } : options.sharedVolume;
  const mountPath = volume.mountPath ?? '/shared';
  const sweepDir = `${mountPath}/${sweepId}`;
  const labels = { 'app.kubernetes.io/name': 'tfpipe-sweep', 'tfpipe.dev/sweep': sweepId };
  const parallelism = options.parallelism ?? sweep.parallel ?? trials.length;
  const attempts = sweep.retries.attempts;

  const data: Record<string, string> = { [SWEEP_FILES.summary]: JSON.stringify(initialSummary(input.config, sweep, trials, sweepId, options.format ?? 'job')) };
  for (const t of trials) data[`trial-${t.index}.json`] = JSON.stringify(t);
  const size = Object.values(data).reduce((a, v) => a + Buffer.byteLength(v), 0);
  if (size > CONFIGMAP_LIMIT) {
    throw new TfpipeError('E_USAGE', `the trial configs take ${size} bytes; a ConfigMap holds at most ~1 MiB`, {
      hint: 'Lower sweep.budget, or run through the queue (--queue) instead.',
    });
  }
  const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${sweepId}-trials`, namespace, labels }, data };

  const trialArgs = (index: string) => [
    '--trial',
    `${TRIALS_MOUNT}/trial-${index}.json`,
    '--sweep-dir',
    sweepDir,
    '--summary',
    `${TRIALS_MOUNT}/${SWEEP_FILES.summary}`,
  ];
  const [program, ...lead] = options.command ?? ['pipeline', 'sweep', 'run-trial'];
  const container = (index: string) => ({
    name: 'trial',
    image: options.image,
    command: [program!],
    args: [...lead, ...trialArgs(index)],
    volumeMounts: [
      { name: 'shared', mountPath },
      { name: 'trials', mountPath: TRIALS_MOUNT, readOnly: true },
    ],
    ...(options.resources ? { resources: options.resources } : {}),
  });
  const volumes = [
    { name: 'shared', persistentVolumeClaim: { claimName: volume.claimName } },
    { name: 'trials', configMap: { name: configMap.metadata.name } },
  ];

  let workload: Record<string, unknown>;
  if ((options.format ?? 'job') === 'job') {
    workload = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: sweepId, namespace, labels },
      spec: {
        completionMode: 'Indexed',
        completions: trials.length,
        parallelism,
        // Retries per trial, as sweep.retries.attempts (Kubernetes >= 1.29).
        backoffLimitPerIndex: attempts - 1,
        maxFailedIndexes: trials.length,
        ...(sweep.timeoutSeconds ? { activeDeadlineSeconds: Math.ceil(sweep.timeoutSeconds) } : {}),
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: 'Never',
            ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
            containers: [
              {
                ...container('$(TRIAL_INDEX)'),
                // Declared here so that $(TRIAL_INDEX) in args is expanded by the kubelet.
                env: [
                  {
                    name: 'TRIAL_INDEX',
                    valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } },
                  },
                ],
              },
            ],
            volumes,
          },
        },
      },
    };
  } else {
    workload = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { generateName: `${sweepId}-`, namespace, labels },
      spec: {
        entrypoint: 'sweep',
        parallelism,
        ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
        ...(sweep.timeoutSeconds ? { activeDeadlineSeconds: Math.ceil(sweep.timeoutSeconds) } : {}),
        volumes,
        templates: [
          {
            name: 'sweep',
            steps: [
              [
                {
                  name: 'trial',
                  template: 'trial',
                  arguments: { parameters: [{ name: 'index', value: '{{item}}' }] },
                  withSequence: { count: String(trials.length) },
                },
              ],
            ],
          },
          {
            name: 'trial',
            inputs: { parameters: [{ name: 'index' }] },
            retryStrategy: { limit: String(attempts - 1), retryPolicy: 'OnFailure' },
            container: container('{{inputs.parameters.index}}'),
          },
        ],
      },
    };
  }
  return finish([configMap, workload], { sweepId, trials, data: dataLocations(trials[0]?.config, mountPath) }, options);
}

async function finish(manifests: Record<string, unknown>[], base: Omit<EmittedManifests, 'manifests' | 'yaml'>, options: EmitKubernetesOptions): Promise<EmittedManifests> {
  for (const m of manifests) validateManifest(m);
  const yaml = manifests.map((m) => stringify(m, { lineWidth: 0 })).join('---\n');
  const out: EmittedManifests = { ...base, manifests, yaml };
  if (options.outDir) {
    out.file = join(options.outDir, `${base.sweepId}.${options.format ?? 'job'}.yaml`);
    await writeFileAtomic(out.file, yaml);
  }
  return out;
}

/** A pool of queue workers that ends with the sweep: no volume, no ConfigMap (trial configs travel in the jobs). */
function emitWorkerPool(
  sweep: SweepConfig,
  trials: Trial[],
  sweepId: string,
  options: EmitKubernetesOptions,
  workers: { queue: string; prefix?: string },
): Promise<EmittedManifests> {
  const namespace = options.namespace ?? 'default';
  const labels = { 'app.kubernetes.io/name': 'tfpipe-sweep', 'tfpipe.dev/sweep': sweepId };
  const parallelism = options.parallelism ?? sweep.parallel ?? trials.length;
  const [program, ...lead] = options.command ?? ['pipeline', 'worker'];
  const container = {
    name: 'worker',
    image: options.image,
    command: [program!],
    args: [...lead, '--queue', workers.queue, '--sweep', sweepId, '--exit-when-done', ...(workers.prefix ? ['--prefix', workers.prefix] : [])],
    ...(options.resources ? { resources: options.resources } : {}),
  };
  const pod = {
    restartPolicy: 'Never',
    ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
    containers: [container],
  };
  const workload =
    (options.format ?? 'job') === 'job'
      ? {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { name: sweepId, namespace, labels },
          // A work queue: the pods end when the sweep does; a pod that dies is replaced, and its trial retried.
          spec: {
            parallelism,
            backoffLimit: parallelism * sweep.retries.attempts,
            ...(sweep.timeoutSeconds ? { activeDeadlineSeconds: Math.ceil(sweep.timeoutSeconds) } : {}),
            template: { metadata: { labels }, spec: pod },
          },
        }
      : {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Workflow',
          metadata: { generateName: `${sweepId}-`, namespace, labels },
          spec: {
            entrypoint: 'sweep',
            parallelism,
            ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
            ...(sweep.timeoutSeconds ? { activeDeadlineSeconds: Math.ceil(sweep.timeoutSeconds) } : {}),
            templates: [
              { name: 'sweep', steps: [[{ name: 'worker', template: 'worker', withSequence: { count: String(parallelism) } }]] },
              { name: 'worker', retryStrategy: { limit: String(sweep.retries.attempts), retryPolicy: 'OnFailure' }, container },
            ],
          },
        };
  return finish([workload], { sweepId, trials, data: dataLocations(trials[0]?.config) }, options);
}
