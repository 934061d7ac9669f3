import { appendFile, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { type Logger, silentLogger, writeFileAtomic } from '@tfpipe/core';

/**
 * Requests and feedback written by `pipeline serve --log <dir>`, read by `pipeline drift`. The contract:
 *   <dir>/requests-<seq>.jsonl   {"id":"<request id>#<row>","time":ISO,"run":"<run id>","inputs":{...},"prediction":{...}}
 *   <dir>/feedback-<seq>.jsonl   {"id":"<request id>#<row>","label":...,"time":ISO}
 * `<seq>` is zero-padded to SEQ_DIGITS. A segment holds up to `segmentRows` lines and appears under its
 * name only once closed (see SegmentWriter), so a reader never sees a segment still being written.
 */
export const SEQ_DIGITS = 6;
export const REQUESTS_PREFIX = 'requests';
export const FEEDBACK_PREFIX = 'feedback';

export const requestLogOptionsSchema = z
  .object({
    dir: z.string().min(1).describe('Folder of the JSONL segments'),
    sample: z.number().gt(0).max(1).default(1).describe('Fraction of requests logged (0 < sample <= 1)'),
    segmentRows: z.number().int().positive().default(1000).describe('Lines per segment file before a new one starts'),
    flushMs: z.number().int().positive().default(1000).describe('How often buffered lines are written'),
    segmentMs: z.number().int().positive().default(60_000).describe('A segment older than this is closed (becomes visible) even if not full'),
    maxBufferedRows: z.number().int().positive().default(100_000).describe('Lines waiting to be written at most; more are dropped and counted'),
    maxIds: z.number().int().positive().default(1_000_000).describe('Logged row ids remembered for POST /feedback (oldest forgotten first)'),
  })
  .strict();

export type RequestLogOptions = z.output<typeof requestLogOptionsSchema>;
export type RequestLogOptionsInput = z.input<typeof requestLogOptionsSchema>;

/** One logged row, exactly as written. */
export interface RequestLine {
  id: string;
  time: string;
  run: string;
  inputs: Record<string, unknown>;
  prediction: unknown;
}

/** One feedback line, exactly as written. */
export interface FeedbackLine {
  id: string;
  label: unknown;
  time: string;
}

export function segmentName(prefix: string, seq: number): string {
  return `${prefix}-${String(seq).padStart(SEQ_DIGITS, '0')}.jsonl`;
}

/** Segment files of `prefix` in `dir`, by sequence number. */
export async function listSegments(dir: string, prefix: string): Promise<{ seq: number; file: string }[]> {
  const re = new RegExp(`^${prefix}-(\\d+)\\.jsonl$`);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  return names
    .map((f) => ({ f, m: re.exec(f) }))
    .filter((x) => x.m)
    .map((x) => ({ seq: Number(x.m![1]), file: join(dir, x.f) }))
    .sort((a, b) => a.seq - b.seq);
}

/** Yields to the event loop, so requests are served between chunks of log work. */
const yieldToRequests = () => new Promise<void>((r) => setImmediate(r));
const CHUNK = 16;

/**
 * Lines are taken at once (no I/O, no JSON) and written later. The open segment grows in a hidden
 * `.<name>.partial` file (appends only: each line is serialized and written once) and is renamed to its
 * final name when it holds `segmentRows` lines, when it is older than `segmentMs`, or on `seal()`:
 * a reader only ever sees whole segments, and a segment is never touched again.
 */
class SegmentWriter<T> {
  private seq: number;
  private rows = 0;
  private openedAt = 0;
  private pending: T[] = [];
  dropped = 0;

  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    firstSeq: number,
    private readonly options: RequestLogOptions,
  ) {
    this.seq = firstSeq;
  }

  get buffered(): number {
    return this.pending.length;
  }

  add(line: T): boolean {
    if (this.pending.length >= this.options.maxBufferedRows) {
      this.dropped++;
      return false;
    }
    this.pending.push(line);
    return true;
  }

  private get partial(): string {
    return join(this.dir, `.${segmentName(this.prefix, this.seq)}.partial`);
  }

  /** Appends what is buffered to the open segment (sealing each one that fills); `seal`: close the open one too. */
  async write(seal: boolean): Promise<void> {
    const lines = this.pending;
    this.pending = [];
    let i = 0;
    try {
      if (lines.length) await mkdir(this.dir, { recursive: true });
      while (i < lines.length) {
        if (this.rows === 0) this.openedAt = Date.now();
        const room = this.options.segmentRows - this.rows;
        const take = lines.slice(i, i + Math.min(room, CHUNK));
        const text: string[] = [];
        for (const l of take) text.push(JSON.stringify(l));
        await appendFile(this.partial, `${text.join('\n')}\n`);
        i += take.length;
        this.rows += take.length;
        if (this.rows >= this.options.segmentRows) await this.sealOpen();
        await yieldToRequests();
      }
      if (this.rows > 0 && (seal || Date.now() - this.openedAt >= this.options.segmentMs)) await this.sealOpen();
    } catch (e) {
      // What was not appended waits for the next write; the open segment keeps what it has.
      this.pending = [...lines.slice(i), ...this.pending];
      throw e;
    }
  }

  private async sealOpen(): Promise<void> {
    const fh = await open(this.partial, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(this.partial, join(this.dir, segmentName(this.prefix, this.seq)));
    this.seq++;
    this.rows = 0;
  }
}

/** A segment left open by a crash: whole lines kept (a torn last one dropped), given its final name. */
async function recoverPartial(dir: string, prefix: string): Promise<number[]> {
  const re = new RegExp(`^\\.${prefix}-(\\d+)\\.jsonl\\.partial$`);
  const seqs: number[] = [];
  for (const f of await readdir(dir)) {
    const m = re.exec(f);
    if (!m) continue;
    const text = await readFile(join(dir, f), 'utf8');
    const whole = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
    const seq = Number(m[1]);
    if (whole) await writeFileAtomic(join(dir, segmentName(prefix, seq)), whole);
    await rm(join(dir, f), { force: true });
    seqs.push(seq);
  }
  return seqs;
}

/** Row ids that feedback may name, oldest forgotten first beyond `max`. */
class IdSet {
  private readonly ids = new Set<string>();
  constructor(private readonly max: number) {}
  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value as string);
  }
  has(id: string): boolean {
    return this.ids.has(id);
  }
}

/** Converts validated record values to JSON: image bytes (a multipart file) become base64. */
function jsonValue(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v instanceof Float32Array) return Array.from(v);
  return v;
}

/**
 * The server's request log: `logRequest` and `feedback` only push to a buffer (the request path does no
 * I/O and no JSON work); a timer writes the buffer every `flushMs`, one write at a time, serializing in
 * chunks between which requests are served.
 */
export class RequestLog {
  private readonly requests: SegmentWriter<RequestLine>;
  private readonly feedbacks: SegmentWriter<FeedbackLine>;
  private readonly ids: IdSet;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private failures = 0;
  private closed = false;

  private constructor(
    readonly options: RequestLogOptions,
    firstSeq: { requests: number; feedback: number },
    ids: IdSet,
    private readonly logger: Logger,
  ) {
    this.requests = new SegmentWriter(options.dir, REQUESTS_PREFIX, firstSeq.requests, options);
    this.feedbacks = new SegmentWriter(options.dir, FEEDBACK_PREFIX, firstSeq.feedback, options);
    this.ids = ids;
    this.timer = setInterval(() => void this.write(false), options.flushMs);
    this.timer.unref();
  }

  /** Opens (creates) the log folder; new segments follow the ones there, whose ids feedback may name. */
  static async open(input: RequestLogOptionsInput, logger: Logger = silentLogger): Promise<RequestLog> {
    const options = requestLogOptionsSchema.parse(input);
    await mkdir(options.dir, { recursive: true });
    await recoverPartial(options.dir, REQUESTS_PREFIX);
    await recoverPartial(options.dir, FEEDBACK_PREFIX);
    const reqs = await listSegments(options.dir, REQUESTS_PREFIX);
    const fb = await listSegments(options.dir, FEEDBACK_PREFIX);
    const ids = new IdSet(options.maxIds);
    // The newest segments' ids, up to maxIds, so feedback on requests logged before a restart still lands.
    const recent: string[][] = [];
    let count = 0;
    for (let i = reqs.length - 1; i >= 0 && count < options.maxIds; i--) {
      const got: string[] = [];
      for (const line of (await readFile(reqs[i]!.file, 'utf8')).split('\n')) {
        if (!line) continue;
        try {
          const id = (JSON.parse(line) as { id?: unknown }).id;
          if (typeof id === 'string') got.push(id);
        } catch {
          // A line that is not JSON cannot be named by feedback; the segment stays as it is.
        }
      }
      recent.unshift(got);
      count += got.length;
    }
    for (const group of recent) for (const id of group) ids.add(id);
    const next = (segs: { seq: number }[]) => (segs.length ? segs[segs.length - 1]!.seq + 1 : 1);
    return new RequestLog(options, { requests: next(reqs), feedback: next(fb) }, ids, logger);
  }

  /** Whether to log this request (a `sample` fraction of them). */
  sampled(): boolean {
    return this.options.sample >= 1 || Math.random() < this.options.sample;
  }

  /** Logs each row of one request as `<requestId>#<row>`. */
  logRequest(requestId: string, run: string, records: Record<string, unknown>[], predictions: unknown[], columns: readonly string[]): void {
    if (this.closed) return;
    const time = new Date().toISOString();
    records.forEach((rec, i) => {
      const inputs: Record<string, unknown> = {};
      for (const c of columns) inputs[c] = jsonValue(rec[c]);
      const id = `${requestId}#${i}`;
      if (this.requests.add({ id, time, run, inputs, prediction: predictions[i] })) this.ids.add(id);
    });
    if (this.requests.buffered >= this.options.segmentRows) void this.write(false);
  }

  /** Whether `id` names a logged row. */
  knows(id: string): boolean {
    return this.ids.has(id);
  }

  /** Records ground truth for a logged row; false (nothing written) when the id is unknown. */
  feedback(id: string, label: unknown): boolean {
    if (this.closed || !this.ids.has(id)) return false;
    return this.feedbacks.add({ id, label, time: new Date().toISOString() });
  }

  /** Counters for /metrics. */
  stats(): { rowsDropped: number; writeFailures: number; buffered: number } {
    return { rowsDropped: this.requests.dropped + this.feedbacks.dropped, writeFailures: this.failures, buffered: this.requests.buffered + this.feedbacks.buffered };
  }

  /** Writes everything buffered so far and closes the open segments; resolves when they are on disk under their names. */
  flush(): Promise<void> {
    return this.write(true);
  }

  private write(seal: boolean): Promise<void> {
    this.writing = this.writing.then(async () => {
      try {
        await this.requests.write(seal);
        await this.feedbacks.write(seal);
      } catch (e) {
        this.failures++;
        this.logger.warn(`request log: a write failed (${(e as Error).message}); its lines stay buffered and are written at the next flush`);
      }
    });
    return this.writing;
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    if (this.closed) return this.writing;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}
