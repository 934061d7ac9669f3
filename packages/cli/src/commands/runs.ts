import { compareRuns, listRuns, resolveRun, summarizeRun } from '@tfpipe/pipeline';
import { table } from '../table.js';

const fmt = (v: unknown): string => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : v === undefined ? '-' : String(v));

export async function runsListCommand(opts: { dir: string; json?: boolean }): Promise<void> {
  const runs = await listRuns(opts.dir);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
    return;
  }
  if (runs.length === 0) {
    process.stdout.write(`no runs under ${opts.dir}\n`);
    return;
  }
  const rows = runs.map((r) => {
    const key = r.primaryMetric?.name ?? Object.keys(r.metrics ?? {}).find((k) => typeof r.metrics?.[k] === 'number');
    return [r.dir.split('/').pop()!, r.startedAt.replace('T', ' ').slice(0, 19), r.status, key ? `${key}=${fmt(r.metrics?.[key])}` : '-', fmt(r.bestEpoch), r.backend ?? '-'];
  });
  process.stdout.write(table(['run', 'started', 'status', 'test metric', 'best epoch', 'backend'], rows));
}

export async function runsShowCommand(run: string, opts: { dir: string }): Promise<void> {
  const s = await summarizeRun(resolveRun(run, opts.dir));
  const lines = [
    `run:        ${s.dir}`,
    `name:       ${s.name}`,
    `status:     ${s.status}${s.blessed === false ? ' (not blessed)' : ''}`,
    `started:    ${s.startedAt}${s.endedAt ? `  ended: ${s.endedAt}` : ''}`,
    `backend:    ${s.backend ?? '-'}   seed: ${s.seed ?? '-'}   epochs: ${s.epochs ?? '-'}   best epoch: ${s.bestEpoch ?? '-'}   stop: ${s.stopReason ?? '-'}`,
  ];
  if (s.best) lines.push(`best epoch: ${Object.entries(s.best).map(([k, v]) => `${k}=${fmt(v)}`).join('  ')}`);
  if (s.metrics) lines.push(`test:       ${Object.entries(s.metrics).filter(([, v]) => typeof v === 'number').map(([k, v]) => `${k}=${fmt(v)}`).join('  ')}`);
  if (s.error) lines.push(`error:      ${s.error}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

export async function runsCompareCommand(list: string[], opts: { dir: string }): Promise<void> {
  const c = await compareRuns(list.map((r) => resolveRun(r, opts.dir)));
  const names = c.runs.map((r) => r.dir.split('/').pop()!);
  let out = 'config differences:\n';
  out += c.configDiff.length ? table(['path', ...names], c.configDiff.map((d) => [d.path, ...d.values.map(fmt)])) : '  (none)\n';
  out += '\nmetrics (test, and the best epoch of training):\n';
  out += table(['metric', ...names], c.metricDiff.map((d) => [d.metric, ...d.values.map(fmt)]));
  process.stdout.write(out);
}
