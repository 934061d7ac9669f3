import { z } from 'zod';
import { TfpipeError } from '@tfpipe/core';
import { checkImageColumns, pixelsOf } from '../_image.js';
import { Welford } from '../_stats.js';
import { type Transform, type TransformEntry, columnFields, columnList, exactlyOneColumnField, requireFitted } from '../transform.js';

const perChannel = z.union([z.number(), z.array(z.number()).min(1)]);

export const imageNormalizeSchema = z
  .object({
    type: z.literal('image-normalize'),
    ...columnFields,
    mean: perChannel.optional().describe('Per-channel mean (one number for all channels). When absent, fitted per channel on the training split.'),
    std: perChannel.optional().describe('Per-channel std. When absent, fitted per channel on the training split (population std; 0 becomes 1).'),
  })
  .strict()
  .superRefine(exactlyOneColumnField)
  .superRefine((v, ctx) => {
    if ((v.mean === undefined) !== (v.std === undefined)) ctx.addIssue({ code: 'custom', message: 'give both mean and std, or neither (fit both)', path: ['std'], input: v });
    const len = (x: number | number[] | undefined) => (typeof x === 'object' ? x.length : 1);
    if (len(v.mean) !== len(v.std) && len(v.mean) !== 1 && len(v.std) !== 1) ctx.addIssue({ code: 'custom', message: 'mean and std need the same number of channels', path: ['std'], input: v.std });
    const stds = v.std === undefined ? [] : typeof v.std === 'number' ? [v.std] : v.std;
    if (stds.some((s) => !(s > 0))) ctx.addIssue({ code: 'custom', message: 'std must be > 0', path: ['std'], input: v.std });
  })
  .describe('(pixel - mean[c]) / std[c] per channel of image columns (HWC).');

export type ImageNormalizeConfig = z.output<typeof imageNormalizeSchema>;
type Stats = Record<string, { mean: number[]; std: number[] }>;

export const imageNormalize: TransformEntry<ImageNormalizeConfig> = {
  type: 'image-normalize',
  schema: imageNormalizeSchema,
  description: 'Per-channel image normalization, fixed or fitted.',
  create(config): Transform {
    const names = columnList(config);
    const fixed = config.mean !== undefined && config.std !== undefined;
    let stats: Stats | undefined;
    let channels: Record<string, number> = {};
    // Fixed values need no columns: one number applies to every channel (i % 1 === 0).
    if (fixed) {
      const m = typeof config.mean === 'number' ? [config.mean] : config.mean!;
      const sd = typeof config.std === 'number' ? [config.std] : config.std!;
      const ch = Math.max(m.length, sd.length);
      const expand = (v: number[]) => (v.length === ch ? v : Array<number>(ch).fill(v[0]!));
      stats = Object.fromEntries(names.map((n) => [n, { mean: expand(m), std: expand(sd) }]));
    }
    return {
      type: 'image-normalize',
      columns: names,
      needsFit: () => !fixed && stats === undefined,
      ...(fixed
        ? {}
        : {
            fitter() {
              const acc = new Map<string, Welford[]>();
              return {
                update(row) {
                  for (const n of names) {
                    const ch = channels[n];
                    if (ch === undefined) throw new TfpipeError('E_USAGE', `image-normalize: the shape of column "${n}" is not known yet`, { hint: 'Call Preprocessor.outputColumns(sourceColumns) before fit.' });
                    let ws = acc.get(n);
                    if (!ws) acc.set(n, (ws = Array.from({ length: ch }, () => new Welford())));
                    const px = row[n];
                    if (!(px instanceof Float32Array || px instanceof Uint8Array) || px.length % ch !== 0) pixelsOf('image-normalize', n, px, -1);
                    const p = px as Float32Array | Uint8Array;
                    for (let i = 0; i < p.length; i++) ws[i % ch]!.update(p[i]!);
                  }
                },
                finish() {
                  stats = Object.fromEntries(
                    names.map((n) => {
                      const ws = acc.get(n) ?? [];
                      return [n, { mean: ws.map((w) => w.mean), std: ws.map((w) => (w.std > 0 ? w.std : 1)) }];
                    }),
                  );
                },
              };
            },
          }),
      outputColumns(columns, path, issues) {
        const dims = checkImageColumns('image-normalize', names, columns, path, issues);
        channels = Object.fromEntries([...dims].map(([n, d]) => [n, d[2]]));
        if (fixed) {
          for (const [n, d] of dims) {
            const ch = stats![n]!.mean.length;
            if (ch !== 1 && ch !== d[2]) {
              issues.push({ path: [...path, 'mean'], message: `column "${n}" has ${d[2]} channel(s)`, received: config.mean, expected: `one number or ${d[2]} numbers` });
            }
          }
        }
        return columns.map((c) => (dims.has(c.name) ? { ...c } : c));
      },
      apply(row) {
        requireFitted(stats !== undefined, 'image-normalize');
        for (const n of names) {
          const { mean, std } = stats![n]!;
          const ch = mean.length;
          const px = row[n];
          if (!(px instanceof Float32Array || px instanceof Uint8Array) || px.length % ch !== 0) pixelsOf('image-normalize', n, px, -1);
          const p = px as Float32Array | Uint8Array;
          const out = new Float32Array(p.length);
          for (let i = 0; i < p.length; i++) {
            const c = i % ch;
            out[i] = (p[i]! - mean[c]!) / std[c]!;
          }
          row[n] = out;
        }
      },
      state: () => ({ stats, channels }),
      load(state) {
        const s = state as { stats?: Stats; channels?: Record<string, number> };
        stats = s.stats;
        channels = s.channels ?? {};
      },
    };
  },
};
