#!/usr/bin/env node
// Screenshot of one section of a report.html in headless Chromium (for READMEs):
//   node tools/scripts/report-section-shot.mjs <report.html> <section-id> <out.png> [width] [height]
// Keeps the page's <head> (its CSS) and that one <section>, writes it beside the report, and shoots it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const [report, id, out, width = '1100', height = '900'] = process.argv.slice(2);
if (!report || !id || !out) {
  console.error('usage: report-section-shot.mjs <report.html> <section-id> <out.png> [width] [height]');
  process.exit(2);
}
const html = readFileSync(report, 'utf8');
const head = html.match(/<head>[\s\S]*?<\/head>/)?.[0] ?? '';
const section = html.match(new RegExp(`<section id="${id}">[\\s\\S]*?</section>`))?.[0];
if (!section) {
  console.error(`no <section id="${id}"> in ${report}`);
  process.exit(1);
}
const page = join(dirname(resolve(report)), `section-${id}.html`);
writeFileSync(page, `<!doctype html><html>${head}<body><main>${section}</main></body></html>`);
const profile = mkdtempSync(join(tmpdir(), 'tfpipe-shot-'));
try {
  execFileSync('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--user-data-dir=${profile}`, `--window-size=${width},${height}`, `--screenshot=${resolve(out)}`, `file://${page}`], { stdio: ['ignore', 'ignore', 'ignore'] });
} finally {
  rmSync(profile, { recursive: true, force: true });
  rmSync(page, { force: true });
}
console.log(`wrote ${out}`);
