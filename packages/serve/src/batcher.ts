import { TfpipeError } from '@tfpipe/core';

/** One request's rows waiting for the model. */
interface Pending<K, R, P> {
  key: K;
  rows: R[];
  resolve(out: P[]): void;
  reject(e: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** The queue is full: answer 503 and ask the client to come back in `retryAfterSeconds`. */
export class QueueFullError extends TfpipeError {
  constructor(
    readonly retryAfterSeconds: number,
    reason: string,
  ) {
    super('E_INTERNAL', `${reason}; retry in ${retryAfterSeconds} s`);
  }
}

export interface MicroBatcherOptions<K, R, P> {
  /** Rows per model call; a queue this full is run at once. */
  maxBatch: number;
  /** How long the first queued request waits for others to join its batch. 0: next event-loop turn. */
  waitMs: number;
  /** Runs one batch. All rows share one key (the run they were validated against). */
  run(key: K, rows: R[]): Promise<P[]>;
  /** Called with the size of each batch run (for metrics). */
  onBatch?(size: number): void;
  /** Most rows waiting; a request that would go past it is refused with QueueFullError. Default: no bound. */
  maxQueueRows?: number;
}

/**
 * Micro-batching: requests arriving within `waitMs` of each other are predicted in one model call of up to
 * `maxBatch` rows, which is what makes a server fast under load. Batches run one at a time. When a
 * batch fails, each request in it is retried alone, so one bad request never fails its neighbours.
 */
export class MicroBatcher<K, R, P> {
  private queue: Pending<K, R, P>[] = [];
  private queuedRows = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private idle: Promise<void> = Promise.resolve();
  private settleIdle: (() => void) | undefined;
  private maxSeen = 0;
  private rowsPerSecond = 0;

  constructor(private readonly options: MicroBatcherOptions<K, R, P>) {}

  /**
   * Queues rows; resolves with their outputs, in order. Refused at once (QueueFullError) when the queue
   * would pass `maxQueueRows`; a request whose `signal` aborts while it waits leaves the queue and is never
   * computed (it rejects with the signal's reason).
   */
  submit(key: K, rows: R[], options: { signal?: AbortSignal } = {}): Promise<P[]> {
    const { signal } = options;
    return new Promise<P[]>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      if (!this.accepts(rows.length)) return reject(this.full());
      const p: Pending<K, R, P> = { key, rows, resolve, reject, signal, onAbort: undefined };
      if (signal) {
        p.onAbort = () => this.drop(p);
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.queue.push(p);
      this.queuedRows += rows.length;
      this.maxSeen = Math.max(this.maxSeen, this.queuedRows);
      this.schedule();
    });
  }

  /** Whether `rows` more rows fit in the queue now (a request is always taken when the queue is empty). */
  accepts(rows: number): boolean {
    const limit = this.options.maxQueueRows ?? Number.POSITIVE_INFINITY;
    return this.queuedRows === 0 || this.queuedRows + rows <= limit;
  }

  /** The refusal for a full queue, with a Retry-After estimated from the recent throughput. */
  full(): QueueFullError {
    const wait = this.rowsPerSecond > 0 ? Math.ceil(this.queuedRows / this.rowsPerSecond) : 1;
    return new QueueFullError(Math.min(Math.max(wait, 1), 60), `the server is busy: ${this.queuedRows} rows are queued (limit ${this.options.maxQueueRows})`);
  }

  /** Rows waiting (not yet in a running batch). */
  get pending(): number {
    return this.queuedRows;
  }

  /** The most rows ever waiting at once. */
  get maxPending(): number {
    return this.maxSeen;
  }

  private drop(p: Pending<K, R, P>): void {
    const i = this.queue.indexOf(p);
    if (i < 0) return; // already taken into a batch: it finishes
    this.queue.splice(i, 1);
    this.queuedRows -= p.rows.length;
    p.reject(p.signal!.reason);
  }

  /** Resolves when the queue is empty and no batch runs. */
  drained(): Promise<void> {
    return this.running || this.queue.length ? this.idle : Promise.resolve();
  }

  private schedule(): void {
    if (this.running) return; // the loop picks the queue up after the current batch
    if (this.queuedRows >= this.options.maxBatch || this.options.waitMs <= 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.start(true);
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.start(false);
      }, this.options.waitMs);
    }
  }

  private start(nextTurn: boolean): void {
    if (this.running) return;
    this.running = true;
    this.idle = new Promise((r) => (this.settleIdle = r));
    const go = () => void this.loop();
    if (nextTurn) setImmediate(go);
    else go();
  }

  private async loop(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.take();
        await this.runBatch(batch);
        // Let the HTTP layer read more requests, so they can join the next batch.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.running = false;
      this.settleIdle?.();
      if (this.queue.length) this.schedule();
    }
  }

  /** The head request and those after it with the same key, up to maxBatch rows (at least one request). */
  private take(): Pending<K, R, P>[] {
    const key = this.queue[0]!.key;
    const out: Pending<K, R, P>[] = [];
    let rows = 0;
    while (this.queue.length) {
      const p = this.queue[0]!;
      if (p.key !== key || (out.length > 0 && rows + p.rows.length > this.options.maxBatch)) break;
      this.queue.shift();
      if (p.signal && p.onAbort) p.signal.removeEventListener('abort', p.onAbort);
      out.push(p);
      rows += p.rows.length;
    }
    this.queuedRows -= rows;
    return out;
  }

  private async runBatch(batch: Pending<K, R, P>[]): Promise<void> {
    const rows = batch.flatMap((p) => p.rows);
    let outs: P[];
    const started = performance.now();
    try {
      this.options.onBatch?.(rows.length);
      outs = await this.options.run(batch[0]!.key, rows);
      const seconds = (performance.now() - started) / 1000;
      if (seconds > 0) this.rowsPerSecond = this.rowsPerSecond === 0 ? rows.length / seconds : 0.8 * this.rowsPerSecond + 0.2 * (rows.length / seconds);
    } catch (e) {
      if (batch.length === 1) {
        batch[0]!.reject(e);
        return;
      }
      for (const p of batch) await this.runBatch([p]);
      return;
    }
    let o = 0;
    for (const p of batch) {
      p.resolve(outs.slice(o, o + p.rows.length));
      o += p.rows.length;
    }
  }
}
