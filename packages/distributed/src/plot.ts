import { isLogScale } from './space.js';
import type { PointSummary, SweepSummary } from './summary.js';

const W = 300;
const H = 220;
const M = { l: 58, r: 14, t: 30, b: 44 };
const COLS = 3;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(1) : Number(v.toPrecision(3)).toString();
}

/** Evenly spaced ticks over [lo, hi] (in the axis's own space). */
function ticks(lo: number, hi: number, n = 4): number[] {
  if (lo === hi) return [lo];
  return Array.from({ length: n + 1 }, (_, i) => lo + ((hi - lo) * i) / n);
}

/** Each point's result at the highest rung it reached: what the plot and the reader care about. */
function finalPoints(points: readonly PointSummary[]): PointSummary[] {
  const byPoint = new Map<number, PointSummary>();
  for (const p of points) {
    if (p.mean === undefined) continue;
    const prev = byPoint.get(p.point);
    if (!prev || (p.rung ?? 0) > (prev.rung ?? 0)) byPoint.set(p.point, p);
  }
  return [...byPoint.values()];
}

function panel(summary: SweepSummary, path: string, points: PointSummary[], x0: number, y0: number): string {
  const spec = summary.parameters[path]!;
  const values = points.map((p) => p.params[path]);
  const numeric = values.every((v) => typeof v === 'number' && Number.isFinite(v));
  const log = numeric && isLogScale(spec) && values.every((v) => (v as number) > 0);
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const out: string[] = [`<g transform="translate(${x0},${y0})">`];
  out.push(`<text x="${M.l + pw / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(path)}</text>`);
  out.push(`<rect x="${M.l}" y="${M.t}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  if (!points.length) {
    out.push(`<text x="${M.l + pw / 2}" y="${M.t + ph / 2}" text-anchor="middle" fill="#777">no completed trials</text></g>`);
    return out.join('');
  }
  const lows = points.map((p) => p.mean! - (p.std ?? 0));
  const highs = points.map((p) => p.mean! + (p.std ?? 0));
  let ylo = Math.min(...lows);
  let yhi = Math.max(...highs);
  if (ylo === yhi) [ylo, yhi] = [ylo - 0.5 * (Math.abs(ylo) || 1), yhi + 0.5 * (Math.abs(yhi) || 1)];
  const ypad = (yhi - ylo) * 0.06;
  [ylo, yhi] = [ylo - ypad, yhi + ypad];
  const py = (v: number) => M.t + ph - ((v - ylo) / (yhi - ylo)) * ph;
  let px: (v: unknown) => number;
  const xTicks: { at: number; label: string }[] = [];
  if (numeric) {
    const t = (v: number) => (log ? Math.log10(v) : v);
    const xs = values.map((v) => t(v as number));
    let lo = Math.min(...xs);
    let hi = Math.max(...xs);
    if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
    const pad = (hi - lo) * 0.06;
    px = (v) => M.l + ((t(v as number) - lo + pad) / (hi - lo + 2 * pad)) * pw;
    for (const k of ticks(lo, hi, 3)) xTicks.push({ at: px(log ? 10 ** k : k), label: fmt(log ? 10 ** k : k) });
  } else {
    const cats = [...new Set(values.map((v) => JSON.stringify(v)))];
    px = (v) => M.l + ((cats.indexOf(JSON.stringify(v)) + 0.5) / cats.length) * pw;
    for (const c of cats) xTicks.push({ at: px(JSON.parse(c)), label: c.replace(/^"|"$/g, '').slice(0, 12) });
  }
  for (const k of ticks(ylo, yhi)) {
    out.push(`<line x1="${M.l - 4}" x2="${M.l}" y1="${py(k)}" y2="${py(k)}" stroke="#999"/>`);
    out.push(`<text x="${M.l - 6}" y="${py(k) + 4}" text-anchor="end">${fmt(k)}</text>`);
  }
  for (const t of xTicks) {
    out.push(`<line x1="${t.at}" x2="${t.at}" y1="${M.t + ph}" y2="${M.t + ph + 4}" stroke="#999"/>`);
    out.push(`<text x="${t.at}" y="${M.t + ph + 16}" text-anchor="middle">${esc(t.label)}</text>`);
  }
  out.push(`<text x="${M.l + pw / 2}" y="${H - 6}" text-anchor="middle" fill="#555">${esc(path)}${log ? ' (log)' : ''}</text>`);
  out.push(`<text transform="translate(14,${M.t + ph / 2}) rotate(-90)" text-anchor="middle" fill="#555">${esc(summary.metric)}</text>`);
  const best = summary.best;
  for (const p of points) {
    const x = px(p.params[path]);
    const y = py(p.mean!);
    const isBest = best !== undefined && best.point === p.point;
    if (p.std !== undefined && p.values.length > 1) {
      out.push(`<line x1="${x}" x2="${x}" y1="${py(p.mean! - p.std)}" y2="${py(p.mean! + p.std)}" stroke="#4c78a8"/>`);
    }
    const title = `${p.trials[0]}: ${summary.metric}=${fmt(p.mean!)}${p.values.length > 1 ? ` ± ${fmt(p.std!)}` : ''}`;
    out.push(
      `<circle class="${isBest ? 'best' : 'trial'}" cx="${x.toFixed(2)}" cy="${y.toFixed(2)}" r="${isBest ? 5 : 3.5}" fill="${isBest ? '#e45756' : '#4c78a8'}"><title>${esc(title)}</title></circle>`,
    );
  }
  out.push('</g>');
  return out.join('');
}

/**
 * A hand-written SVG: one panel per swept parameter, the metric (mean ± std over folds) against the
 * parameter's value; the best point in red. Log axis for logUniform parameters.
 */
export function plotSweep(summary: SweepSummary): string {
  const paths = Object.keys(summary.parameters);
  const points = finalPoints(summary.points);
  const n = Math.max(1, paths.length);
  const cols = Math.min(COLS, n);
  const rows = Math.ceil(n / cols);
  const width = cols * W;
  const height = rows * H + 28;
  const body: string[] = [];
  if (!paths.length) {
    body.push(`<text x="${W / 2}" y="${28 + H / 2}" text-anchor="middle">no swept parameters${summary.best ? `; ${esc(summary.metric)} = ${fmt(summary.best.metric)}` : ''}</text>`);
  }
  for (const [i, p] of paths.entries()) body.push(panel(summary, p, points, (i % cols) * W, 28 + Math.floor(i / cols) * H));
  const head = `${summary.metric} (${summary.direction}), ${summary.status}${summary.best ? `, best ${fmt(summary.best.metric)}` : ''}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${esc(summary.id)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="18" font-size="13">${esc(head)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
