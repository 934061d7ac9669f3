import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { appendJsonLine } from '@tfpipe/core';
import { METRICS_JSONL, truncateMetrics } from '../run-files.js';
import type { Callback, CallbackContext } from '../types.js';

/**
 * `<runDir>/metrics.jsonl`: one EpochLog per line, appended at each epoch end. A fresh run starts the file
 * anew; a resumed one keeps the lines up to its checkpoint's epoch (rewritten atomically, a torn last line dropped).
 */
export class MetricsLog implements Callback {
  readonly name = 'metrics-log';

  async onTrainBegin(ctx: CallbackContext): Promise<void> {
    if (!ctx.runDir) return;
    if (ctx.resumedFrom !== undefined) await truncateMetrics(ctx.runDir, ctx.resumedFrom);
    else await rm(join(ctx.runDir, METRICS_JSONL), { force: true });
  }

  async onEpochEnd(ctx: CallbackContext): Promise<void> {
    if (ctx.runDir) await appendJsonLine(join(ctx.runDir, METRICS_JSONL), ctx.logs);
  }
}
