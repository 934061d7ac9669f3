import type { FastifyRequest } from 'fastify';
import { type ExampleExplanation, EXPLAIN_METHODS, type ExplainMethod, explainRows, vocabularies } from '@tfpipe/explain';
import type { Row } from '@tfpipe/data';
import type { LoadedRun } from '@tfpipe/pipeline';
import { badRequest } from './records.js';

/** The bounded cost of POST /explain: its query, checked, with steps capped. */
export interface ExplainQuery {
  methods: ExplainMethod[];
  steps: number;
}

const PER_EXAMPLE: ExplainMethod[] = ['integrated-gradients', 'grad-cam'];

/** `?methods=integrated-gradients,grad-cam&steps=32`: steps beyond `maxSteps` are capped (the answer says so). */
export function explainQuery(request: FastifyRequest, maxSteps: number): ExplainQuery & { capped: boolean } {
  const q = (request.query ?? {}) as Record<string, string | undefined>;
  const methods = (q.methods ?? 'integrated-gradients').split(',').map((m) => m.trim());
  for (const [i, m] of methods.entries()) {
    if (!PER_EXAMPLE.includes(m as ExplainMethod)) {
      const allowed = EXPLAIN_METHODS.filter((x) => PER_EXAMPLE.includes(x));
      throw badRequest([{ path: ['query', 'methods', i], message: 'not a per-record method', received: m, expected: allowed.map((a) => JSON.stringify(a)).join(' | ') }]);
    }
  }
  const asked = q.steps === undefined ? Math.min(50, maxSteps) : Number(q.steps);
  if (!Number.isInteger(asked) || asked < 1) {
    throw badRequest([{ path: ['query', 'steps'], message: 'not a whole number of steps', received: q.steps, expected: `an integer from 1 to ${maxSteps}` }]);
  }
  return { methods: methods as ExplainMethod[], steps: Math.min(asked, maxSteps), capped: asked > maxSteps };
}

/** Attributions for validated raw rows, with the run's own preprocessing (as POST /predict). */
export async function explainServedRows(run: LoadedRun, rows: Row[], query: ExplainQuery): Promise<ExampleExplanation[]> {
  const explanation = await explainRows({
    model: run.model,
    tensorizer: run.tensorizer,
    rows,
    preprocess: (r) => run.preprocessor.transform(r),
    vocab: vocabularies(run.preprocessor.toJSON()),
    config: { methods: query.methods, examples: rows.length, steps: query.steps },
    withLabels: false,
  });
  return explanation.examples;
}

/** A counter of explanations in flight: requests beyond `limit` are answered 503 at once instead of queueing. */
export class ExplainSlots {
  private inFlight = 0;
  constructor(private readonly limit: number) {}
  tryAcquire(): boolean {
    if (this.inFlight >= this.limit) return false;
    this.inFlight++;
    return true;
  }
  release(): void {
    this.inFlight--;
  }
}

