import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runTrial as quadraticRunner } from './__fixtures__/quadratic-runner.js';
import { type Trial, emitKubernetes, runTrialFile, sweepStatus } from './index.js';

const config = { name: 'Iris_CNN', seed: 1, objective: { x: 0, y: 2 }, train: { epochs: 3 } };
const sweep = {
  metric: 'score',
  direction: 'max' as const,
  kfold: 2,
  parameters: { 'objective.x': [0, 0.3, 0.6] },
  retries: { attempts: 3, backoffMs: 0 },
  timeoutSeconds: 600,
};

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, checked field by field below
type Doc = Record<string, any>;

async function emitted(format: 'job' | 'argo') {
  const outDir = await mkdtemp(join(tmpdir(), 'tfpipe-k8s-'));
  const out = await emitKubernetes(
    { config, sweep },
    { image: 'registry.example/tfpipe:1', namespace: 'ml', sharedVolume: { claimName: 'sweeps', mountPath: '/data' }, format, outDir, sweepId: 'Iris_CNN sweep 01', parallelism: 2 },
  );
  const text = await readFile(out.file!, 'utf8');
  const docs = parseAllDocuments(text).map((d) => d.toJS() as Doc);
  return { out, docs };
}

describe('emitKubernetes', () => {
  it('writes a ConfigMap of trials and an Indexed Job with one completion per trial', async () => {
    const { out, docs } = await emitted('job');
    expect(out.sweepId).toBe('iris-cnn-sweep-01');
    expect(docs.map((d) => d.kind)).toEqual(['ConfigMap', 'Job']);
    const [cm, job] = docs as [Doc, Doc];
    expect(out.trials).toHaveLength(6);
    expect(job.apiVersion).toBe('batch/v1');
    expect(job.metadata).toMatchObject({ name: 'iris-cnn-sweep-01', namespace: 'ml' });
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 6, parallelism: 2, backoffLimitPerIndex: 2, activeDeadlineSeconds: 600 });
    const pod = job.spec.template.spec;
    expect(pod.restartPolicy).toBe('Never');
    const c = pod.containers[0];
    expect(c.image).toBe('registry.example/tfpipe:1');
    expect([...c.command, ...c.args].join(' ')).toBe(
      'pipeline sweep run-trial --trial /etc/tfpipe/trials/trial-$(TRIAL_INDEX).json --sweep-dir /data/iris-cnn-sweep-01 --summary /etc/tfpipe/trials/sweep.json',
    );
    expect(c.env[0].valueFrom.fieldRef.fieldPath).toBe("metadata.annotations['batch.kubernetes.io/job-completion-index']");
    expect(pod.volumes).toEqual([
      { name: 'shared', persistentVolumeClaim: { claimName: 'sweeps' } },
      { name: 'trials', configMap: { name: cm.metadata.name } },
    ]);
    expect(c.volumeMounts.map((m: Doc) => m.mountPath)).toEqual(['/data', '/etc/tfpipe/trials']);
    // Every completion index 0..5 has its trial, whose config carries its overrides.
    expect(Object.keys(cm.data).sort()).toEqual(['sweep.json', ...Array.from({ length: 6 }, (_, i) => `trial-${i}.json`)].sort());
    for (let i = 0; i < 6; i++) {
      const t = JSON.parse(cm.data[`trial-${i}.json`]) as Trial;
      expect(t.index).toBe(i);
      expect(t.config).toMatchObject({ objective: { x: [0, 0.3, 0.6][Math.floor(i / 2)] }, data: { split: { kfold: 2, fold: i % 2 } } });
    }
  });

  it('writes an Argo Workflow that fans out over the trial indices', async () => {
    const { docs } = await emitted('argo');
    const wf = docs[1]!;
    expect(wf).toMatchObject({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', metadata: { generateName: 'iris-cnn-sweep-01-' } });
    expect(wf.spec.entrypoint).toBe('sweep');
    expect(wf.spec.parallelism).toBe(2);
    const [fan, trial] = wf.spec.templates;
    expect(fan.steps[0][0].withSequence).toEqual({ count: '6' });
    expect(trial.retryStrategy.limit).toBe('2');
    expect(trial.container.args).toContain('/etc/tfpipe/trials/trial-{{inputs.parameters.index}}.json');
  });

  it('refuses successive halving (later rungs depend on results)', async () => {
    await expect(
      emitKubernetes(
        {
          config,
          sweep: { method: 'halving', budget: 3, metric: 'score', direction: 'max', halving: { min: 1, max: 3 }, parameters: { 'objective.x': [0, 1] } },
        },
        { image: 'i', sharedVolume: 'pvc' },
      ),
    ).rejects.toThrow(/halving cannot be emitted/);
  });

  it('a pod’s command runs its trial from the ConfigMap and `sweep status` reads the shared directory', async () => {
    const { docs } = await emitted('job');
    const cm = docs[0]!;
    const mount = await mkdtemp(join(tmpdir(), 'tfpipe-cm-'));
    const shared = await mkdtemp(join(tmpdir(), 'tfpipe-pvc-'));
    for (const [k, v] of Object.entries(cm.data as Record<string, string>)) await writeFile(join(mount, k), v);
    const sweepDir = join(shared, 'iris-cnn-sweep-01');
    for (const i of [2, 3]) {
      const r = await runTrialFile({ trialFile: join(mount, `trial-${i}.json`), sweepDir, runner: quadraticRunner, summaryFile: join(mount, 'sweep.json') });
      expect(r.status).toBe('completed');
    }
    const status = await sweepStatus(sweepDir);
    expect(status.trials.map((t) => t.status)).toEqual(['pending', 'pending', 'completed', 'completed', 'pending', 'pending']);
    // Point 1 (x = 0.3) has both folds: its mean is the optimum, 0.
    expect(status.best).toMatchObject({ point: 1, trials: ['trial-001-fold-0', 'trial-001-fold-1'] });
    expect(status.best!.metric).toBeCloseTo(0, 12);
  });
});

describe('emitKubernetes with workers: no shared volume', () => {
  const withData = {
    ...config,
    data: { source: { type: 'csv', path: 'https://data.example/iris.csv' }, split: { test: { source: { type: 'csv', path: '/home/me/test.csv' } } } },
  };

  for (const format of ['job', 'argo'] as const) {
    it(`a ${format} of queue workers that end with the sweep, with no volume and no ConfigMap; data locations named`, async () => {
      const outDir = await mkdtemp(join(tmpdir(), 'tfpipe-k8s-'));
      const out = await emitKubernetes(
        { config: withData, sweep },
        { image: 'registry.example/tfpipe:1', format, outDir, sweepId: 'iris-pool', parallelism: 3, workers: { queue: 'redis://redis.ml:6379' } },
      );
      const docs = parseAllDocuments(await readFile(out.file!, 'utf8')).map((d) => d.toJS() as Doc);
      expect(docs).toHaveLength(1);
      const doc = docs[0]!;
      expect(JSON.stringify(doc)).not.toMatch(/volume|configMap|ConfigMap/i);
      const container = format === 'job' ? doc.spec.template.spec.containers[0] : doc.spec.templates[1].container;
      expect([...container.command, ...container.args]).toEqual(['pipeline', 'worker', '--queue', 'redis://redis.ml:6379', '--sweep', 'iris-pool', '--exit-when-done']);
      if (format === 'job') expect(doc.spec).toMatchObject({ parallelism: 3, backoffLimit: 9 });
      else expect(doc.spec.templates[0].steps[0][0].withSequence).toEqual({ count: '3' });
      expect(out.data).toEqual([
        { path: 'data.source.path', value: 'https://data.example/iris.csv', reach: 'url' },
        { path: 'data.split.test.source.path', value: '/home/me/test.csv', reach: 'local' },
      ]);
    });
  }

  it('without workers, a shared volume is required; paths on it are reachable', async () => {
    await expect(emitKubernetes({ config, sweep }, { image: 'x' })).rejects.toThrow(/need a shared volume/);
    const out = await emitKubernetes(
      { config: { ...config, data: { source: { type: 'csv', path: '/data/iris.csv' } } }, sweep },
      { image: 'x', sharedVolume: { claimName: 'sweeps', mountPath: '/data' } },
    );
    expect(out.data).toEqual([{ path: 'data.source.path', value: '/data/iris.csv', reach: 'volume' }]);
  });
});
