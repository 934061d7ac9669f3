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
  /** A PersistentVolumeClaim every pod mounts (ReadWriteMany): the sweep directory lives on it. */
  sharedVolume: string | { claimName: string; mountPath?: string };
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

export interface EmittedManifests {
  sweepId: string;
  trials: Trial[];
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
    need(spec.completionMode === 'Indexed', 'Job.spec.completionMode must be Indexed');
    need(Number.isInteger(spec.completions) && (spec.completions as number) > 0, 'Job.spec.completions');
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
  const manifests = [configMap, workload];
  for (const m of manifests) validateManifest(m);
  const yaml = manifests.map((m) => stringify(m, { lineWidth: 0 })).join('---\n');
  const out: EmittedManifests = { sweepId, trials, manifests, yaml };
  if (options.outDir) {
    out.file = join(options.outDir, `${sweepId}.${options.format ?? 'job'}.yaml`);
    await writeFileAtomic(out.file, yaml);
  }
  return out;
}
