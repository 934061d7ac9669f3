import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Evaluation } from '../evaluation.js';
import { explanationBody, overlayPng, type ReportExplanation } from './explanation.js';
import { writeReport } from './write.js';

const explanation: ReportExplanation = {
  importance: {
    metric: 'accuracy',
    direction: 'max',
    baseline: 0.9,
    repeats: 3,
    importances: [
      { column: 'signal', mean: 0.4, std: 0.02 },
      { column: 'noise', mean: 0.001, std: 0.003 },
    ],
  },
  examples: [
    { index: 4, label: 'pos', predicted: 'neg', confidence: 0.7, target: 'neg', gap: 0.001, tokens: { review: [{ token: '<b>great</b>', value: 0.5 }, { token: 'plot', value: -0.1 }] } },
    {
      index: 9,
      label: '3',
      predicted: '3',
      confidence: 0.99,
      target: '3',
      images: { image: { shape: [2, 3, 1], pixels: [0, 1, 0, 1, 0, 1], attribution: [1, 0, 0, 0, 0, -1], gradCam: [0, 0, 1, 0, 0, 0] } },
    },
  ],
};

describe('the explanation section', () => {
  it('overlays: an RGB PNG of the image size, red where attribution is positive, blue where negative', () => {
    const png = overlayPng([0, 1, 0, 1, 0, 1], [1, 0, 0, 0, 0, -1], [2, 3, 1]);
    expect(Array.from(png.slice(1, 4))).toEqual([80, 78, 71]); // "PNG"
    const view = new DataView(png.buffer, png.byteOffset);
    expect([view.getUint32(16), view.getUint32(20)]).toEqual([3, 2]); // IHDR width, height
    expect(png[25]).toBe(2); // colour type 2: RGB
  });

  it('tokens are escaped and coloured by sign; images become cards', () => {
    const html = explanationBody(explanation, '<svg></svg>');
    expect(html).toContain('&#60;b&#62;great&#60;/b&#62;');
    expect(html).toMatch(/rgba\(228,87,86,0\.750\)/);
    expect(html).toMatch(/rgba\(76,120,168,0\.150\)/);
    expect(html.match(/<img src="data:image\/png;base64,/g)).toHaveLength(2);
    expect(html).toContain('gap 0.10%');
  });

  it('writeReport renders the importance chart (bars with error bars) inside report.html', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tfpipe-explain-report-'));
    try {
      const evaluation: Evaluation = { task: { kind: 'binary' }, samples: 10, metrics: { accuracy: 0.9 }, directions: { accuracy: 'max' }, worst: [] };
      await writeReport(dir, { evaluation, explanation }, { png: false });
      const html = await readFile(join(dir, 'report.html'), 'utf8');
      expect(html).toContain('id="explain"');
      expect(html).toContain('Permutation importance (drop in accuracy, 3 shuffles)');
      expect(html).toMatch(/<svg[^>]*role="img"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
