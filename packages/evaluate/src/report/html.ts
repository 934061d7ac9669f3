import type { Direction } from '@tfpipe/core';
import type { Evaluation } from '../evaluation.js';
import type { GateResult } from '../gates.js';
import type { ClassWorstExample, RegressionWorstExample } from '../worst.js';
import { STYLE } from './style.js';

export const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** 4 significant digits, no exponent noise; NaN/null shown as n/a. */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return 'n/a';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '-∞';
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  return String(Number(x.toPrecision(4)));
}

/**
 * Several SVGs inline in one page share one id namespace; vega names its clip paths clip1, clip2...
 * in every file. Prefixing each SVG's ids keeps one plot from clipping with another's rectangles.
 */
export function scopeSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`)
    .replace(/^<svg /, `<svg role="img" `);
}

export interface Section {
  id: string;
  title: string;
  body: string;
}

export function figure(svg: string | undefined, caption?: string): string {
  if (!svg) return '';
  return `<figure class="plot">${svg}${caption ? `<figcaption>${esc(caption)}</figcaption>` : ''}</figure>`;
}

/** Change from before to after, coloured by whether it is an improvement for this metric's direction. */
function delta(after: number, before: number | undefined, direction: Direction | undefined): string {
  if (before === undefined || !Number.isFinite(before) || !Number.isFinite(after)) return '';
  const d = after - before;
  if (d === 0) return '<span class="delta same">±0</span>';
  const good = direction === undefined ? undefined : (direction === 'max') === d > 0;
  const cls = good === undefined ? 'same' : good ? 'good' : 'bad';
  return `<span class="delta ${cls}">${d > 0 ? '▲' : '▼'} ${fmt(Math.abs(d))}</span>`;
}

/** The key-metric cards in the header. */
export function metricCards(e: Evaluation, before: Evaluation | undefined, max = 6): string {
  const names = Object.keys(e.metrics);
  const ordered = [...names.filter((n) => n !== 'loss'), ...names.filter((n) => n === 'loss')].slice(0, max);
  return ordered
    .map((n) => {
      const v = e.metrics[n]!;
      return `<div class="card"><div class="card-name">${esc(n)}</div><div class="card-value">${fmt(v)}</div>${delta(v, before?.metrics[n] ?? undefined, e.directions[n])}</div>`;
    })
    .join('');
}

export function gateBadges(gates: readonly GateResult[] | undefined): string {
  if (!gates || gates.length === 0) return '';
  const failed = gates.filter((g) => !g.passed).length;
  const items = gates.map((g) => `<li class="${g.passed ? 'pass' : 'fail'}">${g.passed ? '✔' : '✘'} ${esc(g.message)}</li>`).join('');
  return `<div class="gates ${failed ? 'fail' : 'pass'}"><strong>${failed ? `${failed} of ${gates.length} gates failed` : `all ${gates.length} gates passed`}</strong><ul>${items}</ul></div>`;
}

/** All metrics with their direction, and before / change columns for fine-tuning runs. */
export function metricsTable(e: Evaluation, before?: Evaluation): string {
  const head = `<tr><th>metric</th><th>better</th>${before ? '<th class="num">before</th>' : ''}<th class="num">${before ? 'after' : 'value'}</th>${before ? '<th class="num">change</th>' : ''}</tr>`;
  const rows = Object.entries(e.metrics)
    .map(([n, v]) => {
      const b = before?.metrics[n];
      const dir = e.directions[n];
      return `<tr><td>${esc(n)}</td><td class="dir">${dir === 'max' ? 'higher ↑' : dir === 'min' ? 'lower ↓' : ''}</td>${before ? `<td class="num">${fmt(b)}</td>` : ''}<td class="num strong">${fmt(v)}</td>${before ? `<td class="num">${delta(v, b ?? undefined, dir)}</td>` : ''}</tr>`;
    })
    .join('');
  return `<table>${head}${rows}</table>`;
}

export function perClassTable(e: Evaluation): string {
  if (!e.perClass) return '';
  const rows = e.perClass
    .map((c) => `<tr><td>${esc(c.label)}</td><td class="num">${fmt(c.precision)}</td><td class="num">${fmt(c.recall)}</td><td class="num strong">${fmt(c.f1)}</td><td class="num">${fmt(c.support)}</td></tr>`)
    .join('');
  return `<table><tr><th>class</th><th class="num">precision</th><th class="num">recall</th><th class="num">F1</th><th class="num">support</th></tr>${rows}</table>`;
}

/** Image cards when pictures are given, otherwise a table of the worst examples. */
export function worstBlock(e: Evaluation, images: { src: string; label: string; pred: string; confidence?: number; index?: number }[]): string {
  if (images.length > 0) {
    const cards = images
      .map(
        (im) =>
          `<div class="example"><img src="${im.src}" alt="true ${esc(im.label)}, predicted ${esc(im.pred)}"><div class="ex-text"><span class="${im.label === im.pred ? 'ok' : 'wrong'}">${esc(im.pred)}</span><span class="muted">true ${esc(im.label)}</span>${im.confidence === undefined ? '' : `<span class="muted">${(im.confidence * 100).toFixed(1)}%</span>`}${im.index === undefined ? '' : `<span class="muted">#${im.index}</span>`}</div></div>`,
      )
      .join('');
    return `<div class="examples">${cards}</div>`;
  }
  if (e.worst.length === 0) return '<p class="muted">No examples.</p>';
  if ('error' in e.worst[0]!) {
    const rows = (e.worst as RegressionWorstExample[])
      .map((w) => `<tr><td class="num">${w.index}</td><td class="num">${w.label.map(fmt).join(', ')}</td><td class="num">${w.pred.map(fmt).join(', ')}</td><td class="num strong">${fmt(w.error)}</td></tr>`)
      .join('');
    return `<table><tr><th class="num">index</th><th class="num">true</th><th class="num">predicted</th><th class="num">abs. error</th></tr>${rows}</table>`;
  }
  const rows = (e.worst as ClassWorstExample[])
    .map(
      (w) =>
        `<tr><td class="num">${w.index}</td><td>${esc(w.label)}</td><td><span class="${w.correct ? 'ok' : 'wrong'}">${esc(w.pred)}</span></td><td class="num">${fmt(w.confidence)}</td><td class="num">${fmt(w.trueProb)}</td><td class="num strong">${fmt(w.loss)}</td></tr>`,
    )
    .join('');
  return `<table><tr><th class="num">index</th><th>true</th><th>predicted</th><th class="num">p(predicted)</th><th class="num">p(true)</th><th class="num">loss</th></tr>${rows}</table>`;
}

export function page(opts: { title: string; subtitle: string; cards: string; gates: string; sections: Section[] }): string {
  const nav = opts.sections.map((s) => `<a href="#${s.id}">${esc(s.title)}</a>`).join('');
  const body = opts.sections.map((s) => `<section id="${s.id}"><h2>${esc(s.title)}</h2>${s.body}</section>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="@tfpipe/evaluate">
<title>${esc(opts.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <div class="wrap">
    <h1>${esc(opts.title)}</h1>
    <p class="subtitle">${opts.subtitle}</p>
    <div class="cards">${opts.cards}</div>
    ${opts.gates}
  </div>
  <nav><div class="wrap">${nav}</div></nav>
</header>
<main class="wrap">
${body}
</main>
<footer class="wrap muted">Generated by tfpipe. One self-contained file: no scripts, no network.</footer>
</body>
</html>
`;
}
