import type * as vl from 'vega-lite';
import type { Evaluation } from '../evaluation.js';

/** A vega-lite spec as we build it (loosely typed: vega-lite's own types are too deep to be useful here). */
export type Spec = Record<string, unknown>;

export const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac', '#eeca3b'];
const FONT = 'Inter, "Segoe UI", "Helvetica Neue", Arial, "DejaVu Sans", sans-serif';

const CONFIG = {
  font: FONT,
  background: 'white',
  view: { stroke: null },
  axis: { labelColor: '#475569', titleColor: '#334155', gridColor: '#e2e8f0', domainColor: '#cbd5e1', tickColor: '#cbd5e1', titleFontWeight: 600, labelFontSize: 11 },
  legend: { labelColor: '#475569', titleColor: '#334155', orient: 'bottom', labelFontSize: 11 },
  title: { color: '#0f172a', fontSize: 13, fontWeight: 600, anchor: 'start' },
  range: { category: PALETTE },
};

/** Compiles vega-lite to vega and renders SVG headlessly (renderer 'none': no canvas, no DOM). */
export async function renderSvg(spec: Spec): Promise<string> {
  // Loaded on first use: importing @tfpipe/evaluate (the CLI does) should not pay for vega.
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vegaLite.compile({ ...spec, config: CONFIG } as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** One row per epoch of the trainer's history: `{ epoch, loss, val_loss?, accuracy, val_accuracy, ... }`. */
export type HistoryEntry = { epoch: number } & Record<string, number | undefined>;

const NOT_CURVES = new Set(['epoch', 'lr', 'samplesPerSec', 'seconds']);

/** The metric keys that have a learning curve: `loss` first, then the rest in first-seen order. */
export function curveKeys(history: readonly HistoryEntry[]): string[] {
  const keys = new Set<string>();
  for (const h of history) for (const k of Object.keys(h)) if (!NOT_CURVES.has(k) && typeof h[k] === 'number') keys.add(k.startsWith('val_') ? k.slice(4) : k);
  return [...keys].sort((a, b) => (a === 'loss' ? -1 : b === 'loss' ? 1 : 0));
}

/** Train vs validation for one metric, with the best epoch marked. */
export function learningCurveSpec(history: readonly HistoryEntry[], key: string, bestEpoch?: number): Spec {
  const values: { epoch: number; value: number; split: string }[] = [];
  for (const h of history) {
    const t = h[key];
    const v = h[`val_${key}`];
    if (typeof t === 'number' && Number.isFinite(t)) values.push({ epoch: h.epoch, value: t, split: 'train' });
    if (typeof v === 'number' && Number.isFinite(v)) values.push({ epoch: h.epoch, value: v, split: 'validation' });
  }
  const layers: Spec[] = [
    {
      mark: { type: 'line', point: { size: 28 }, strokeWidth: 2 },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', title: key, scale: { zero: false } },
        color: { field: 'split', type: 'nominal', title: null, scale: { domain: ['train', 'validation'], range: [PALETTE[0], PALETTE[1]] } },
      },
    },
  ];
  if (bestEpoch !== undefined) {
    layers.push(
      { data: { values: [{ epoch: bestEpoch }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#16a34a' }, encoding: { x: { field: 'epoch', type: 'quantitative' } } },
      {
        data: { values: [{ epoch: bestEpoch, label: `best (${bestEpoch})` }] },
        mark: { type: 'text', align: 'left', dx: 4, dy: -4, baseline: 'top', color: '#16a34a', fontSize: 11, y: 0 },
        encoding: { x: { field: 'epoch', type: 'quantitative' }, text: { field: 'label' } },
      },
    );
  }
  return { title: key, width: 300, height: 180, data: { values }, layer: layers };
}

/** Confusion matrix heatmap: color is the share of the true class's row, text is the count. */
export function confusionSpec(cm: NonNullable<Evaluation['confusionMatrix']>): Spec {
  const values: { true: string; pred: string; count: number; share: number }[] = [];
  cm.matrix.forEach((row, r) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, c) => {
      values.push({ true: cm.labels[r]!, pred: cm.labels[c]!, count, share: total ? count / total : 0 });
    });
  });
  const size = Math.min(520, Math.max(180, cm.labels.length * 40));
  const sort = cm.labels;
  return {
    width: size,
    height: size,
    data: { values },
    encoding: {
      x: { field: 'pred', type: 'nominal', sort, title: 'predicted', axis: { labelAngle: 0, orient: 'top' } },
      y: { field: 'true', type: 'nominal', sort, title: 'true' },
    },
    layer: [
      {
        mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
        encoding: { color: { field: 'share', type: 'quantitative', scale: { domain: [0, 1], range: ['#f8fbff', '#08519c'] }, title: 'share of row', legend: { orient: 'right', gradientLength: size * 0.6 } } },
      },
      {
        mark: { type: 'text', fontSize: cm.labels.length > 12 ? 8 : 11 },
        encoding: {
          text: { field: 'count', type: 'quantitative', format: '~r' },
          color: { condition: { test: 'datum.share > 0.5', value: 'white' }, value: '#1e293b' },
        },
      },
    ],
  };
}

function lineSpec(title: string, values: Record<string, unknown>[], x: string, y: string, xTitle: string, yTitle: string, diagonal: boolean): Spec {
  const layers: Spec[] = [];
  if (diagonal) {
    layers.push({
      data: { values: [{ [x]: 0, [y]: 0 }, { [x]: 1, [y]: 1 }] },
      mark: { type: 'line', strokeDash: [4, 4], color: '#94a3b8', strokeWidth: 1 },
      encoding: { x: { field: x, type: 'quantitative' }, y: { field: y, type: 'quantitative' } },
    });
  }
  layers.push({
    data: { values },
    mark: { type: 'line', strokeWidth: 2, interpolate: y === 'precision' ? 'step-after' : 'linear' },
    encoding: {
      x: { field: x, type: 'quantitative', title: xTitle, scale: { domain: [0, 1] } },
      y: { field: y, type: 'quantitative', title: yTitle, scale: { domain: [0, 1] } },
      color: { field: 'curve', type: 'nominal', title: null, sort: null, legend: { orient: 'right', labelLimit: 150, symbolSize: 60 } },
      order: { field: 'order', type: 'quantitative' },
    },
  });
  return { title, width: 260, height: 260, layer: layers };
}

const fmtArea = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');

/** ROC curves, one per class, with the chance diagonal. */
export function rocSpec(roc: NonNullable<Evaluation['roc']>): Spec {
  const values = roc.flatMap((c) => c.points.map((p, order) => ({ fpr: p.fpr, tpr: p.tpr, order, curve: `${c.label} (AUC ${fmtArea(c.auc)})` })));
  return lineSpec('ROC', values, 'fpr', 'tpr', 'false positive rate', 'true positive rate', true);
}

/** Precision-recall curves, one per class. */
export function prSpec(pr: NonNullable<Evaluation['pr']>): Spec {
  const values = pr.flatMap((c) => c.points.map((p, order) => ({ recall: p.recall, precision: p.precision, order, curve: `${c.label} (AP ${fmtArea(c.ap)})` })));
  return lineSpec('Precision-recall', values, 'recall', 'precision', 'recall', 'precision', false);
}

/** Reliability diagram: accuracy per confidence bin against the diagonal, bar width by bin, dot size by count. */
export function calibrationSpec(cal: NonNullable<Evaluation['calibration']>): Spec {
  const values = cal.bins.filter((b) => b.count > 0).map((b) => ({ lo: b.lo, hi: b.hi, base: 0, accuracy: b.accuracy, confidence: b.confidence, count: b.count }));
  return {
    title: `Reliability (ECE ${fmtArea(cal.ece)})`,
    width: 300,
    height: 300,
    layer: [
      {
        data: { values },
        mark: { type: 'bar', color: PALETTE[0], opacity: 0.75, stroke: 'white' },
        encoding: {
          x: { field: 'lo', type: 'quantitative', title: 'confidence', scale: { domain: [0, 1] } },
          x2: { field: 'hi' },
          y: { field: 'accuracy', type: 'quantitative' },
          y2: { field: 'base' },
        },
      },
      {
        data: { values },
        mark: { type: 'point', filled: true, color: PALETTE[1] },
        encoding: {
          x: { field: 'confidence', type: 'quantitative' },
          y: { field: 'accuracy', type: 'quantitative' },
          size: { field: 'count', type: 'quantitative', title: 'samples', legend: { orient: 'bottom' } },
        },
      },
      {
        data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
        mark: { type: 'line', strokeDash: [4, 4], color: '#334155' },
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] } } },
      },
    ],
  };
}

/** Horizontal bars of per-class F1, precision and recall. */
export function perClassSpec(perClass: NonNullable<Evaluation['perClass']>): Spec {
  const values = perClass.flatMap((c) => (['precision', 'recall', 'f1'] as const).map((m) => ({ label: c.label, metric: m, value: c[m] })));
  return {
    title: 'Per class',
    width: 300,
    data: { values },
    mark: { type: 'bar', cornerRadiusEnd: 2 },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: perClass.map((c) => c.label), title: null },
      yOffset: { field: 'metric', sort: ['precision', 'recall', 'f1'] },
      x: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, title: null },
      color: { field: 'metric', type: 'nominal', sort: ['precision', 'recall', 'f1'], title: null },
    },
    height: { step: 10 },
  };
}

/** Grouped bars of the metrics two evaluations share (values in [0, 1] only, so one axis fits all). */
export function compareSpec(title: string, rows: { metric: string; which: string; value: number }[], order: string[]): Spec {
  return {
    title,
    width: { step: 26 },
    height: 220,
    data: { values: rows },
    mark: { type: 'bar', cornerRadiusEnd: 2 },
    encoding: {
      x: { field: 'metric', type: 'nominal', title: null, axis: { labelAngle: -30 } },
      xOffset: { field: 'which', sort: order },
      y: { field: 'value', type: 'quantitative', title: null },
      color: { field: 'which', type: 'nominal', sort: order, title: null },
    },
  };
}
