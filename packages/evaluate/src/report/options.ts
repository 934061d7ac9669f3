import { z } from 'zod';

/** `evaluate.report`: what `writeReport` writes into the run directory. */
export const reportSchema = z
  .object({
    html: z.boolean().default(true).describe('write report.html: one self-contained page, plots inline as SVG'),
    png: z.boolean().default(true).describe('also write each plot as plots/<name>.png'),
  })
  .strict()
  .describe('the HTML report');

export type ReportConfig = z.infer<typeof reportSchema>;
