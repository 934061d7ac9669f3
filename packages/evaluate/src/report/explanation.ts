import { esc, fmt } from './html.js';
import type { Spec } from './plots.js';
import { encodePng, pngDataUri } from './png.js';

/**
 * What the report shows of an explanation (the shape of @tfpipe/explain's `Explanation`, kept structural so this
 * package depends on core alone).
 */
export interface ReportExplanation {
  importance?: {
    metric: string;
    direction: 'max' | 'min';
    baseline: number;
    repeats: number;
    importances: { column: string; mean: number; std: number }[];
  };
  examples: {
    index: number;
    label?: string;
    predicted: string;
    confidence: number;
    target: string;
    gap?: number;
    columns?: Record<string, number>;
    tokens?: Record<string, { token: string; value: number }[]>;
    images?: Record<string, { shape: number[]; pixels: number[]; attribution?: number[]; gradCam?: number[] }>;
  }[];
}

/** Permutation importance: one bar per column (mean drop of the metric), error bars ± one standard deviation. */
export function importanceSpec(imp: NonNullable<ReportExplanation['importance']>): Spec {
  const values = imp.importances.slice(0, 30).map((i) => ({ column: i.column, mean: i.mean, lo: i.mean - i.std, hi: i.mean + i.std }));
  const y = { field: 'column', type: 'nominal', sort: values.map((v) => v.column), title: null };
  return {
    title: `Permutation importance (drop in ${imp.metric}, ${imp.repeats} shuffles)`,
    width: 320,
    height: { step: 18 },
    data: { values },
    layer: [
      { mark: { type: 'bar', cornerRadiusEnd: 2, color: '#4c78a8' }, encoding: { y, x: { field: 'mean', type: 'quantitative', title: `${imp.metric} drop` } } },
      { mark: { type: 'rule', color: '#0f172a' }, encoding: { y, x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' } } },
    ],
  };
}

/** A gray image with the attribution map laid over it: red where it raised the explained output, blue where it lowered it. */
export function overlayPng(pixels: readonly number[], heat: readonly number[], shape: readonly number[]): Uint8Array {
  const [h = 0, w = 0, c = 1] = shape;
  const n = h * w;
  const gray = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < c; k++) s += pixels[i * c + k]!;
    gray[i] = s / c;
  }
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const g of gray) {
    lo = Math.min(lo, g);
    hi = Math.max(hi, g);
  }
  let peak = 0;
  for (const v of heat) peak = Math.max(peak, Math.abs(v));
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const g = hi > lo ? ((gray[i]! - lo) / (hi - lo)) * 160 : 80;
    const v = peak > 0 ? heat[i]! / peak : 0;
    const a = Math.min(1, Math.abs(v));
    const [r, gg, b] = v >= 0 ? [228, 60, 50] : [50, 110, 228];
    rgb[i * 3] = Math.round(g * (1 - a) + r * a);
    rgb[i * 3 + 1] = Math.round(g * (1 - a) + gg * a);
    rgb[i * 3 + 2] = Math.round(g * (1 - a) + b * a);
  }
  return encodePng(rgb, w, h, 3);
}

function tokenSpans(tokens: { token: string; value: number }[]): string {
  const peak = Math.max(1e-12, ...tokens.map((t) => Math.abs(t.value)));
  return tokens
    .map((t) => {
      const a = Math.min(1, Math.abs(t.value) / peak) * 0.75;
      const color = t.value >= 0 ? `rgba(228,87,86,${a.toFixed(3)})` : `rgba(76,120,168,${a.toFixed(3)})`;
      return `<span class="tok" style="background:${color}" title="${esc(fmt(t.value))}">${esc(t.token)}</span>`;
    })
    .join(' ');
}

function exampleHead(ex: ReportExplanation['examples'][number]): string {
  const ok = ex.label === undefined || ex.label === ex.predicted;
  return `<span class="${ok ? 'ok' : 'wrong'}">${esc(ex.predicted)}</span>${ex.label === undefined ? '' : `<span class="muted">true ${esc(ex.label)}</span>`}<span class="muted">#${ex.index}${ex.gap === undefined ? '' : ` · gap ${(ex.gap * 100).toFixed(2)}%`}</span>`;
}

/** The body of the "Explanations" section: importance chart, then per-example images, tokens or column tables. */
export function explanationBody(exp: ReportExplanation, importanceSvg: string | undefined): string {
  const parts: string[] = [];
  if (exp.importance) {
    const dir = exp.importance.direction === 'max' ? 'higher is better' : 'lower is better';
    parts.push(
      `<p class="muted">How much ${esc(exp.importance.metric)} (${dir}; ${fmt(exp.importance.baseline)} on the rows as they are) gets worse when one column is shuffled across the test rows. Bars: mean; lines: ± one standard deviation.</p>`,
    );
    if (importanceSvg) parts.push(`<figure class="plot">${importanceSvg}</figure>`);
  }
  const imageCards = exp.examples.flatMap((ex) =>
    Object.values(ex.images ?? {}).map((im) => {
      const maps = [
        im.attribution ? `<img src="${pngDataUri(overlayPng(im.pixels, im.attribution, im.shape))}" alt="integrated gradients" title="integrated gradients">` : '',
        im.gradCam ? `<img src="${pngDataUri(overlayPng(im.pixels, im.gradCam, im.shape))}" alt="Grad-CAM" title="Grad-CAM">` : '',
      ].join('');
      return `<div class="example">${maps}<div class="ex-text">${exampleHead(ex)}</div></div>`;
    }),
  );
  if (imageCards.length > 0) {
    parts.push('<p class="muted">Red: pixels that raised the explained class; blue: pixels that lowered it (integrated gradients, then Grad-CAM when computed).</p>');
    parts.push(`<div class="examples">${imageCards.join('')}</div>`);
  }
  const textRows = exp.examples.flatMap((ex) =>
    Object.entries(ex.tokens ?? {}).map(([col, toks]) => `<tr><td>${exampleHead(ex)}</td><td>${esc(col)}</td><td>${tokenSpans(toks)}</td></tr>`),
  );
  if (textRows.length > 0) {
    parts.push('<p class="muted">Tokens coloured by attribution to the explained class: red raised it, blue lowered it.</p>');
    parts.push(`<table><tr><th>example</th><th>column</th><th>tokens</th></tr>${textRows.join('')}</table>`);
  }
  const withColumns = exp.examples.filter((ex) => ex.columns);
  if (withColumns.length > 0) {
    const cols = Object.keys(withColumns[0]!.columns!);
    const head = cols.map((c) => `<th class="num">${esc(c)}</th>`).join('');
    const rows = withColumns
      .map((ex) => `<tr><td>${exampleHead(ex)}</td>${cols.map((c) => `<td class="num">${fmt(ex.columns![c])}</td>`).join('')}</tr>`)
      .join('');
    parts.push('<p class="muted">Integrated gradients per column, for the explained class: they add up to the change of the output from the baseline.</p>');
    parts.push(`<table><tr><th>example</th>${head}</tr>${rows}</table>`);
  }
  return parts.join('');
}
