import { consoleLogger } from '@tfpipe/core';
import { driftRun, parseSet, setPath } from '@tfpipe/pipeline';
import { EXIT } from '../exit.js';

interface DriftOpts {
  current: string;
  out?: string;
  window?: number;
  set?: string[];
  predictions?: boolean;
  json?: boolean;
}

const fmt = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(4))) : String(x));

/** `pipeline drift <run> --current <log dir | data file | config>`: exit 3 when drift is detected. */
export async function driftCommand(runDir: string, opts: DriftOpts): Promise<void> {
  let drift: Record<string, unknown> = {};
  for (const expr of opts.set ?? []) {
    const { path, value } = parseSet(expr);
    drift = setPath(drift, path, value);
  }
  const { report, files } = await driftRun(runDir, opts.current, {
    drift,
    ...(opts.out ? { out: opts.out } : {}),
    ...(opts.window !== undefined ? { lastRows: opts.window } : {}),
    ...(opts.predictions === false ? { predictions: false } : {}),
    logger: consoleLogger,
  });
  if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    for (const c of [...report.columns, ...report.predictions]) {
      process.stdout.write(`${c.drifted ? 'DRIFT' : 'ok   '}  ${c.column.padEnd(24)} ${c.method.padEnd(13)} ${fmt(c.score).padStart(10)} (threshold ${fmt(c.threshold)})  PSI ${fmt(c.psi)}\n`);
    }
    for (const n of report.notChecked) process.stdout.write(`skip   ${n.column.padEnd(24)} ${n.reason}\n`);
    process.stdout.write(
      `${report.driftDetected ? 'drift detected' : 'no drift'}: ${report.drifted} of ${report.checked} columns drifted (share ${fmt(report.driftShare)}, dataset drift at ${fmt(report.config.share)})${report.predictionDrift ? '; predictions drifted' : ''}\n`,
    );
  }
  if (report.feedback && !opts.json) {
    const f = report.feedback;
    process.stdout.write(`feedback: accuracy ${fmt(f.accuracy)} on ${f.labelled} labelled requests${f.reference !== undefined ? ` (test accuracy at training: ${fmt(f.reference)})` : ''}\n`);
  }
  process.stderr.write(`wrote ${files.json} and ${files.html}\n`);
  if (report.driftDetected) process.exitCode = EXIT.drift;
}
