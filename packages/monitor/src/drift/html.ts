/**
 * `drift.html`: one self-contained page, reference against current histogram per check, drifted ones
 * first. Plots are vega-lite compiled to SVG headlessly, as evaluate's report does.
 */
import type { ColumnDrift, DriftReport } from './detect.js';
import { P_VALUE_METHODS } from './schema.js';

type Spec = Record<string, unknown>;
const REF = '#4c78a8';
const CUR = '#f58518';
const FONT = 'Inter, "Segoe UI", "Helvetica Neue", Arial, "DejaVu Sans", sans-serif';
const CONFIG = {
  font: FONT,
  background: 'white',
  view: { stroke: null },
  axis: { labelColor: '#475569', titleColor: '#334155', gridColor: '#e2e8f0', domainColor: '#cbd5e1', tickColor: '#cbd5e1', labelFontSize: 10 },
  legend: { labelColor: '#475569', orient: 'bottom', labelFontSize: 11 },
};

async function renderSvg(spec: Spec): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vegaLite.compile({ ...spec, config: CONFIG } as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function fmt(x: number | undefined): string {
  if (x === undefined || Number.isNaN(x)) return 'n/a';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '-∞';
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  return Math.abs(x) < 1e-4 && x !== 0 ? x.toExponential(2) : String(Number(x.toPrecision(4)));
}

/** Grouped bars: each bin's share of the reference and of the current data. */
export function histogramSpec(c: ColumnDrift): Spec {
  const values = c.bins.flatMap((b) => [
    { bin: b.label, side: 'reference', share: b.reference },
    { bin: b.label, side: 'current', share: b.current },
  ]);
  return {
    width: Math.min(560, Math.max(220, c.bins.length * 26)),
    height: 160,
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'bin', type: 'nominal', sort: c.bins.map((b) => b.label), title: null, axis: { labelAngle: c.bins.length > 8 ? -40 : 0, labelLimit: 90 } },
      xOffset: { field: 'side', sort: ['reference', 'current'] },
      y: { field: 'share', type: 'quantitative', title: 'share of rows', axis: { format: '%' } },
      color: { field: 'side', type: 'nominal', title: null, sort: ['reference', 'current'], scale: { domain: ['reference', 'current'], range: [REF, CUR] } },
    },
  };
}

/** Scopes one SVG's ids so several inline SVGs do not share clip paths. */
function scope(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/^<svg /, '<svg role="img" ');
}

function scoreText(c: ColumnDrift): string {
  const p = P_VALUE_METHODS.has(c.method);
  return `${c.method} ${p ? 'p-value' : 'distance'} ${fmt(c.score)} ${p ? (c.drifted ? '<' : '≥') : c.drifted ? '≥' : '<'} ${fmt(c.threshold)}`;
}

async function section(c: ColumnDrift, i: number): Promise<string> {
  const svg = scope(await renderSvg(histogramSpec(c)), `c${i}`);
  const side = (s: ColumnDrift['reference']) => `${fmt(s.count)} values${s.missing ? `, ${fmt(s.missing)} missing` : ''}${s.mean !== undefined ? `, mean ${fmt(s.mean)}, std ${fmt(s.std)}` : ''}`;
  return `<section class="${c.drifted ? 'drift' : 'stable'}">
<h3>${esc(c.column)} <span class="badge ${c.drifted ? 'drift' : 'stable'}">${c.drifted ? 'drift' : 'no drift'}</span></h3>
<p class="score">${esc(scoreText(c))}${c.statistic !== undefined ? ` (statistic ${fmt(c.statistic)})` : ''} · PSI ${fmt(c.psi)} (${c.psiBand})</p>
<p class="sides"><span class="ref">reference</span> ${esc(side(c.reference))} · <span class="cur">current</span> ${esc(side(c.current))}</p>
<figure>${svg}</figure>
</section>`;
}

const STYLE = `
body { margin: 0; font: 14px/1.5 ${FONT}; color: #0f172a; background: #f8fafc; }
.wrap { max-width: 1100px; margin: 0 auto; padding: 0 24px 24px; }
header { background: linear-gradient(135deg, #1e3a5f 0%, #4c78a8 100%); color: white; padding: 24px 0 18px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: #dbeafe; }
header p.feedback { margin-top: 10px; color: white; font-weight: 600; }
.verdict { display: inline-block; margin-top: 12px; padding: 6px 14px; border-radius: 8px; font-weight: 700; }
.verdict.drift { background: #fee2e2; color: #991b1b; } .verdict.stable { background: #dcfce7; color: #166534; }
h2 { font-size: 17px; margin: 22px 0 8px; }
section { background: white; border: 1px solid #e2e8f0; border-radius: 12px; padding: 14px 18px; margin: 12px 0; }
section.drift { border-left: 6px solid #b91c1c; } section.stable { border-left: 6px solid #15803d; }
h3 { margin: 0 0 4px; font-size: 15px; }
.badge { font-size: 11px; padding: 2px 8px; border-radius: 999px; vertical-align: middle; }
.badge.drift { background: #fee2e2; color: #991b1b; } .badge.stable { background: #dcfce7; color: #166534; }
.score, .sides { margin: 2px 0; color: #475569; font-size: 13px; }
.ref { color: ${REF}; font-weight: 600; } .cur { color: ${CUR}; font-weight: 600; }
figure { margin: 8px 0 0; } figure svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 13px; } td, th { padding: 3px 10px; border-bottom: 1px solid #e2e8f0; text-align: left; }
`;

function feedbackLine(report: DriftReport): string {
  const f = report.feedback;
  if (!f) return '';
  return `<p class="feedback">accuracy on ${fmt(f.labelled)} requests with feedback: ${fmt(f.accuracy)}${f.reference !== undefined ? ` (the run's test accuracy: ${fmt(f.reference)})` : ''}</p>`;
}

/** The whole page as a string. */
export async function driftHtml(report: DriftReport, options: { title?: string } = {}): Promise<string> {
  const title = options.title ?? 'Drift report';
  const sections: string[] = [];
  let i = 0;
  for (const c of report.columns) sections.push(await section(c, i++));
  const preds: string[] = [];
  for (const c of report.predictions) preds.push(await section(c, i++));
  const verdict = report.driftDetected
    ? `drift detected: ${report.drifted} of ${report.checked} columns (share ${fmt(report.driftShare)} ≥ ${fmt(report.config.share)})${report.predictionDrift ? '; predictions drifted' : ''}`
    : `no dataset drift: ${report.drifted} of ${report.checked} columns drifted (share ${fmt(report.driftShare)} < ${fmt(report.config.share)})${report.predictionDrift ? '; predictions drifted' : ''}`;
  const skipped = report.notChecked.length
    ? `<h2>Not checked</h2><table><tr><th>column</th><th>why</th></tr>${report.notChecked.map((n) => `<tr><td>${esc(n.column)}</td><td>${esc(n.reason)}</td></tr>`).join('')}</table>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body><header><div class="wrap"><h1>${esc(title)}</h1>
<p>reference: ${fmt(report.reference.rows)} rows of the ${esc(report.reference.split)} split · current: ${fmt(report.current.rows)} rows${report.current.source ? ` from ${esc(report.current.source)}` : ''} · ${esc(report.createdAt)}</p>
<div class="verdict ${report.driftDetected ? 'drift' : 'stable'}">${esc(verdict)}</div>${feedbackLine(report)}</div></header>
<main class="wrap"><h2>Columns (drifted first)</h2>${sections.join('\n') || '<p>No column could be checked.</p>'}
${preds.length ? `<h2>Predictions (${esc(report.reference.predictionsSplit ?? 'validation')} split against current)</h2>${preds.join('\n')}` : ''}
${skipped}</main></body></html>
`;
}
