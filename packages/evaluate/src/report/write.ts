import { join } from 'node:path';
import { writeFileAtomic } from '@tfpipe/core';
import type { RobustAccuracy } from '../attacks.js';
import type { Evaluation } from '../evaluation.js';
import type { GateResult } from '../gates.js';
import { esc, figure, fmt, gateBadges, metricCards, metricsTable, page, perClassTable, scopeSvgIds, type Section, worstBlock } from './html.js';
import type { ReportConfig } from './options.js';
import {
  calibrationSpec,
  compareSpec,
  confusionSpec,
  curveKeys,
  type HistoryEntry,
  learningCurveSpec,
  perClassSpec,
  prSpec,
  renderSvg,
  rocSpec,
  type Spec,
} from './plots.js';
import { examplePng, type ImageExample, pngDataUri } from './png.js';
import { explanationBody, importanceSpec, type ReportExplanation } from './explanation.js';

export interface ReportInput {
  /** Page title; default "Evaluation report". */
  title?: string;
  /** The run's config, shown as JSON at the end. */
  config?: unknown;
  /** The trainer's epoch logs: `{ epoch, loss, val_loss?, accuracy, val_accuracy, ... }`. */
  history?: readonly HistoryEntry[];
  bestEpoch?: number;
  evaluation: Evaluation;
  /** For fine-tuning runs: the evaluation before, shown against `evaluation` (after). */
  before?: Evaluation;
  /** Clean vs adversarial accuracy, with the attack that was used. */
  robust?: RobustAccuracy & { attack?: unknown };
  /** Pictures of the worst examples (image tasks), shown instead of the table. */
  examples?: readonly ImageExample[];
  /** Gate results, shown under the header. */
  gates?: readonly GateResult[];
  /** Explanations (@tfpipe/explain's `Explanation`): importance chart, heat maps, highlighted tokens. */
  explanation?: ReportExplanation;
  /** Rows the data source skipped (`onError: skip`), per reason with the first few of each. */
  skipped?: SkippedRows;
}

/** What `onError: skip` dropped (the shape of @tfpipe/data's `SkipSummary`). */
export interface SkippedRows {
  skipped: number;
  reasons: readonly { reason: string; count: number; first: readonly { file: string; line?: number; record?: number; column?: string; message: string; received?: unknown }[] }[];
}

function skippedTable(s: SkippedRows): string {
  const where = (p: SkippedRows['reasons'][number]['first'][number]) =>
    `${p.line !== undefined ? `line ${p.line}` : p.record !== undefined ? `record ${p.record}` : esc(p.file)}${p.received !== undefined ? `: <code>${esc(JSON.stringify(p.received))}</code>` : ''}`;
  const rows = s.reasons
    .map((r) => `<tr><td>${esc(r.reason)}</td><td class="num strong">${fmt(r.count)}</td><td>${r.first.map(where).join(', ')}${r.count > r.first.length ? ', ...' : ''}</td></tr>`)
    .join('');
  return `<p class="muted">${fmt(s.skipped)} rows skipped while reading the data (onError: skip).</p><table><tr><th>reason</th><th class="num">rows</th><th>first rows</th></tr>${rows}</table>`;
}

export interface ReportFiles {
  /** Path of report.html, when written. */
  html?: string;
  /** Paths of plots/*.png, when written. */
  pngs: string[];
}

interface Plot {
  name: string;
  spec: Spec;
  svg?: string;
}

function compareRows(before: Evaluation, after: Evaluation): { rows: { metric: string; which: string; value: number }[]; metrics: string[] } {
  // Only metrics in [0, 1] share one axis honestly (a loss of 2.3 would flatten the rest).
  const metrics = Object.keys(after.metrics).filter((m) => {
    const a = after.metrics[m];
    const b = before.metrics[m];
    return typeof a === 'number' && typeof b === 'number' && a >= 0 && a <= 1 && b >= 0 && b <= 1;
  });
  const rows = metrics.flatMap((m) => [
    { metric: m, which: 'before', value: before.metrics[m]! },
    { metric: m, which: 'after', value: after.metrics[m]! },
  ]);
  return { rows, metrics };
}

/** Every plot the inputs allow, named as its PNG file. */
function plotsFor(input: ReportInput): Plot[] {
  const e = input.evaluation;
  const plots: Plot[] = [];
  const history = input.history ?? [];
  for (const key of curveKeys(history)) plots.push({ name: `curve-${key}`, spec: learningCurveSpec(history, key, input.bestEpoch) });
  if (e.perClass && e.perClass.length <= 40) plots.push({ name: 'per-class', spec: perClassSpec(e.perClass) });
  if (e.confusionMatrix) plots.push({ name: 'confusion-matrix', spec: confusionSpec(e.confusionMatrix) });
  if (e.roc?.some((c) => c.points.length > 0)) plots.push({ name: 'roc', spec: rocSpec(e.roc.filter((c) => c.points.length > 0)) });
  if (e.pr?.some((c) => c.points.length > 0)) plots.push({ name: 'pr', spec: prSpec(e.pr.filter((c) => c.points.length > 0)) });
  if (e.calibration?.bins.some((b) => b.count > 0)) plots.push({ name: 'calibration', spec: calibrationSpec(e.calibration) });
  if (input.before) {
    const { rows } = compareRows(input.before, e);
    if (rows.length > 0) plots.push({ name: 'before-after', spec: compareSpec('Before vs after', rows, ['before', 'after']) });
  }
  if (input.robust) {
    const r = input.robust;
    const rows = [
      { metric: 'accuracy', which: 'clean', value: r.accuracy },
      { metric: 'accuracy', which: 'adversarial', value: r.robustAccuracy },
    ];
    plots.push({ name: 'robustness', spec: compareSpec('Clean vs adversarial', rows, ['clean', 'adversarial']) });
  }
  if (input.explanation?.importance?.importances.length) plots.push({ name: 'importance', spec: importanceSpec(input.explanation.importance) });
  return plots;
}

function taskLine(e: Evaluation): string {
  const t = e.task;
  const what = t.kind === 'regression' ? `regression, ${t.outputs} output${t.outputs > 1 ? 's' : ''}` : t.kind === 'binary' ? 'binary classification' : `${t.kind}, ${t.classes} classes`;
  return `${esc(what)} · ${fmt(e.samples)} test samples`;
}

/**
 * Writes `report.html` into `runDir`: one self-contained page (inline CSS, plots as inline SVG,
 * example images as PNG data URIs, no scripts, no network), and each plot as `plots/<name>.png`.
 */
export async function writeReport(runDir: string, input: ReportInput, options: Partial<ReportConfig> = {}): Promise<ReportFiles> {
  const wantHtml = options.html ?? true;
  const wantPng = options.png ?? true;
  const plots = plotsFor(input);
  for (const p of plots) p.svg = await renderSvg(p.spec);
  const files: ReportFiles = { pngs: [] };

  if (wantPng) {
    const { Resvg } = await import('@resvg/resvg-js');
    for (const p of plots) {
      const png = new Resvg(p.svg!, { fitTo: { mode: 'zoom', value: 2 }, background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
      const path = join(runDir, 'plots', `${p.name}.png`);
      await writeFileAtomic(path, png);
      files.pngs.push(path);
    }
  }
  if (!wantHtml) return files;

  const svg = (name: string) => {
    const i = plots.findIndex((p) => p.name === name);
    return i < 0 ? undefined : scopeSvgIds(plots[i]!.svg!, `p${i}`);
  };
  const e = input.evaluation;
  const sections: Section[] = [{ id: 'metrics', title: 'Metrics', body: metricsTable(e, input.before) }];
  const curves = plots.filter((p) => p.name.startsWith('curve-'));
  if (curves.length > 0) {
    const note = input.bestEpoch === undefined ? '' : `<p class="muted">Best epoch: ${fmt(input.bestEpoch)} (dashed line).</p>`;
    sections.push({ id: 'curves', title: 'Learning curves', body: `${note}<div class="grid">${curves.map((p) => figure(svg(p.name))).join('')}</div>` });
  }
  if (e.perClass) sections.push({ id: 'per-class', title: 'Per class', body: `<div class="grid">${perClassTable(e)}${figure(svg('per-class'))}</div>` });
  if (e.confusionMatrix) {
    sections.push({ id: 'confusion', title: 'Confusion matrix', body: figure(svg('confusion-matrix'), 'Rows: true class; columns: predicted class. Colour: share of the row; numbers: counts.') });
  }
  if (svg('roc') || svg('pr')) {
    sections.push({ id: 'roc-pr', title: 'ROC and precision-recall', body: `<div class="grid">${figure(svg('roc'))}${figure(svg('pr'))}</div>` });
  }
  if (svg('calibration')) {
    sections.push({
      id: 'calibration',
      title: 'Calibration',
      body: figure(svg('calibration'), 'Bars: accuracy per confidence bin; dots: mean confidence in the bin (size: samples). A calibrated model follows the diagonal.'),
    });
  }
  const images = (input.examples ?? []).map((ex) => ({
    src: pngDataUri(examplePng(ex)),
    label: ex.label,
    pred: ex.pred,
    ...(ex.confidence === undefined ? {} : { confidence: ex.confidence }),
    ...(ex.index === undefined ? {} : { index: ex.index }),
  }));
  sections.push({ id: 'worst', title: 'Most-wrong examples', body: `<p class="muted">Lowest probability given to the true class first.</p>${worstBlock(e, images)}` });
  if (input.before) sections.push({ id: 'before-after', title: 'Before vs after fine-tuning', body: `<p class="muted">Metrics in [0, 1], before and after; the metrics table above lists every change.</p>${figure(svg('before-after'))}` });
  if (input.robust) {
    const r = input.robust;
    const attack = r.attack === undefined ? '' : `<p class="muted">Attack: <code>${esc(JSON.stringify(r.attack))}</code></p>`;
    const table = `<table><tr><th>accuracy</th><th class="num">value</th></tr><tr><td>clean</td><td class="num strong">${fmt(r.accuracy)}</td></tr><tr><td>adversarial</td><td class="num strong">${fmt(r.robustAccuracy)}</td></tr><tr><td>samples</td><td class="num">${fmt(r.samples)}</td></tr></table>`;
    sections.push({ id: 'robustness', title: 'Robustness', body: `${attack}<div class="grid">${table}${figure(svg('robustness'))}</div>` });
  }
  if (input.explanation) sections.push({ id: 'explain', title: 'Explanations', body: explanationBody(input.explanation, svg('importance')) });
  if (input.skipped && input.skipped.skipped > 0) sections.push({ id: 'skipped', title: 'Skipped rows', body: skippedTable(input.skipped) });
  if (input.config !== undefined) {
    sections.push({ id: 'config', title: 'Config', body: `<details open><summary>pipeline config</summary><pre>${esc(JSON.stringify(input.config, null, 2))}</pre></details>` });
  }
  const html = page({
    title: input.title ?? 'Evaluation report',
    subtitle: taskLine(e),
    cards: metricCards(e, input.before),
    gates: gateBadges(input.gates),
    sections,
  });
  files.html = join(runDir, 'report.html');
  await writeFileAtomic(files.html, html);
  return files;
}
