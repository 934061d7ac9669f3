import { describe, expect, it } from 'vitest';
import { MicroBatcher } from './batcher.js';
import { ServeMetrics } from './metrics.js';

describe('MicroBatcher', () => {
  it('groups concurrent requests into batches of at most maxBatch rows and returns each its own outputs', async () => {
    const calls: number[][] = [];
    const b = new MicroBatcher<string, number, number>({
      maxBatch: 4,
      waitMs: 5,
      run: async (_key, rows) => {
        calls.push(rows);
        return rows.map((x) => x * 10);
      },
    });
    const out = await Promise.all([[1], [2, 3], [4], [5], [6, 7, 8], [9]].map((rows) => b.submit('k', rows)));
    expect(out).toEqual([[10], [20, 30], [40], [50], [60, 70, 80], [90]]);
    // Requests are never split; a batch holds whole requests up to 4 rows.
    expect(calls).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9]]);
    await b.drained();
    expect(b.pending).toBe(0);
  });

  it('never mixes keys (runs) in one batch', async () => {
    const calls: [string, number[]][] = [];
    const b = new MicroBatcher<string, number, number>({ maxBatch: 8, waitMs: 0, run: async (k, rows) => {
        calls.push([k, rows]);
        return rows;
      },
    });
    await Promise.all([b.submit('a', [1]), b.submit('a', [2]), b.submit('b', [3]), b.submit('a', [4])]);
    expect(calls).toEqual([['a', [1, 2]], ['b', [3]], ['a', [4]]]);
  });

  it('retries a failed batch request by request, so only the bad request fails', async () => {
    const b = new MicroBatcher<string, number, number>({
      maxBatch: 8,
      waitMs: 1,
      run: async (_k, rows) => {
        if (rows.includes(-1)) throw new Error('row -1 is bad');
        return rows.map((x) => x + 1);
      },
    });
    const results = await Promise.allSettled([b.submit('k', [1]), b.submit('k', [-1, 2]), b.submit('k', [3])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[0] as PromiseFulfilledResult<number[]>).value).toEqual([2]);
    expect((results[2] as PromiseFulfilledResult<number[]>).value).toEqual([4]);
    expect(String((results[1] as PromiseRejectedResult).reason)).toContain('row -1 is bad');
  });
});

describe('ServeMetrics', () => {
  it('renders counters and cumulative histogram buckets in the Prometheus text format', () => {
    const m = new ServeMetrics();
    m.request('/predict', 'POST', 200, 0.003);
    m.request('/predict', 'POST', 200, 0.02);
    m.request('/predict', 'POST', 400, 0.0005);
    m.batch(3);
    const text = m.render({ model: 'iris "x"' });
    expect(text).toContain('tfpipe_serve_requests_total{route="/predict",method="POST",status="200"} 2');
    expect(text).toContain('tfpipe_serve_requests_total{route="/predict",method="POST",status="400"} 1');
    expect(text).toContain('tfpipe_serve_errors_total{route="/predict",kind="client"} 1');
    // Cumulative: 0.0005 ≤ 0.001; 0.003 ≤ 0.005; 0.02 ≤ 0.025.
    expect(text).toContain('tfpipe_serve_request_duration_seconds_bucket{route="/predict",method="POST",le="0.001"} 1');
    expect(text).toContain('tfpipe_serve_request_duration_seconds_bucket{route="/predict",method="POST",le="0.005"} 2');
    expect(text).toContain('tfpipe_serve_request_duration_seconds_bucket{route="/predict",method="POST",le="0.025"} 3');
    expect(text).toContain('tfpipe_serve_request_duration_seconds_bucket{route="/predict",method="POST",le="+Inf"} 3');
    expect(text).toContain('tfpipe_serve_request_duration_seconds_count{route="/predict",method="POST"} 3');
    expect(text).toContain('tfpipe_serve_batch_size_bucket{le="2"} 0');
    expect(text).toContain('tfpipe_serve_batch_size_bucket{le="4"} 1');
    expect(text).toContain('tfpipe_serve_predictions_total 3');
    expect(text).toContain('tfpipe_serve_model_info{model="iris \\"x\\""} 1');
  });
});
