import { describe, expect, it } from 'vitest';
import { MicroBatcher, QueueFullError } from './batcher.js';
import { Limiter } from './limiter.js';
import { ServeMetrics } from './metrics.js';

/** A promise and its resolver: lets a test hold a batch (or a task) until it says so. */
function gate(): { open: () => void; wait: Promise<void> } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { open, wait };
}

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

describe('MicroBatcher bounds', () => {
  it('refuses rows past maxQueueRows with QueueFullError (Retry-After >= 1 s) and takes them again once there is room', async () => {
    const hold = gate();
    const entered = gate();
    const computed: number[][] = [];
    const b = new MicroBatcher<string, number, number>({
      maxBatch: 2,
      waitMs: 0,
      maxQueueRows: 4,
      run: async (_k, rows) => {
        computed.push(rows);
        entered.open();
        await hold.wait;
        return rows;
      },
    });
    const first = b.submit('k', [1, 2]); // taken into the (held) batch
    await entered.wait;
    const queued = [b.submit('k', [3, 4]), b.submit('k', [5, 6])]; // 4 rows wait: the queue is full
    expect(b.pending).toBe(4);
    const refused = await b.submit('k', [7]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(QueueFullError);
    expect((refused as QueueFullError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(b.accepts(1)).toBe(false);
    hold.open();
    expect(await Promise.all([first, ...queued])).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(b.maxPending).toBe(4);
    expect(await b.submit('k', [7])).toEqual([7]); // room again
    expect(computed.flat()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('drops a request whose signal aborts while it waits: it is never computed', async () => {
    const hold = gate();
    const entered = gate();
    const computed: number[][] = [];
    const b = new MicroBatcher<string, number, number>({
      maxBatch: 8,
      waitMs: 0,
      run: async (_k, rows) => {
        computed.push(rows);
        entered.open();
        await hold.wait;
        return rows;
      },
    });
    const first = b.submit('k', [1]);
    await entered.wait;
    const timedOut = new AbortController();
    const late = b.submit('k', [2, 3], { signal: timedOut.signal });
    const kept = b.submit('k', [4]);
    timedOut.abort(new Error('time is up'));
    await expect(late).rejects.toThrow('time is up');
    expect(b.pending).toBe(1);
    hold.open();
    expect(await Promise.all([first, kept])).toEqual([[1], [4]]);
    expect(computed).toEqual([[1], [4]]);
    const already = new AbortController();
    already.abort(new Error('before it came'));
    await expect(b.submit('k', [5], { signal: already.signal })).rejects.toThrow('before it came');
    expect(computed.flat()).not.toContain(5);
  });
});

describe('Limiter', () => {
  it('runs at most `concurrency` tasks at once; a waiting task whose signal aborts never runs', async () => {
    const limiter = new Limiter(2);
    const holds = [gate(), gate(), gate()];
    const started: number[] = [];
    const task = (i: number) => async () => {
      started.push(i);
      await holds[i]!.wait;
      return i;
    };
    const a = limiter.run(task(0));
    const b = limiter.run(task(1));
    const gone = new AbortController();
    const c = limiter.run(task(2), gone.signal);
    const d = limiter.run(async () => {
      started.push(3);
      return 3;
    });
    expect(limiter.running).toBe(2);
    gone.abort(new Error('timed out'));
    await expect(c).rejects.toThrow('timed out');
    holds[0]!.open();
    holds[1]!.open();
    expect(await Promise.all([a, b, d])).toEqual([0, 1, 3]);
    expect(started).toEqual([0, 1, 3]);
    expect(limiter.maxRunning).toBe(2);
    expect(limiter.running).toBe(0);
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
