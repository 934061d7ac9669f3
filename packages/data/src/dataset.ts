import { createRng, hashSeed, TfpipeError } from '@tfpipe/core';
import { diskCache } from './cache.js';

type Source<T> = Iterable<T> | AsyncIterable<T>;

export interface DatasetOptions {
  /** Number of items, when known without iterating. */
  size?: number | undefined;
}

export interface CacheOptions {
  /** Write the cache to this folder (rows serialized to a temporary file) instead of holding it in memory. */
  dir?: string;
}

function usage(message: string, path: string): TfpipeError {
  return new TfpipeError('E_USAGE', message, { path: [path] });
}

function checkCount(name: string, n: number, min: number): void {
  if (!Number.isInteger(n) || n < min) throw usage(`Dataset.${name}: received ${n}; expected an integer >= ${min}`, name);
}

/**
 * A lazy, immutable chain over items (tf.data style). Nothing runs until it is iterated; each iteration
 * starts over from the source, so a file-backed dataset can be read epoch after epoch with bounded memory.
 */
export class Dataset<T> implements AsyncIterable<T> {
  /** Known length, or undefined when it cannot be known without reading (filter, CSV). */
  readonly size: number | undefined;
  readonly #open: () => AsyncIterator<T>;

  private constructor(open: () => AsyncIterator<T>, size: number | undefined) {
    this.#open = open;
    this.size = size;
  }

  /**
   * From an iterable (re-iterated on every pass, so pass an array or a re-iterable object) or a factory
   * returning a fresh (async) iterable per pass (the way to wrap a generator).
   */
  static from<T>(src: Source<T> | (() => Source<T>), options: DatasetOptions = {}): Dataset<T> {
    const open = (): AsyncIterator<T> => {
      const s = typeof src === 'function' ? src() : src;
      return toAsync(s);
    };
    return new Dataset(open, options.size ?? (Array.isArray(src) ? src.length : undefined));
  }

  static fromArray<T>(items: readonly T[]): Dataset<T> {
    return Dataset.from(items as T[], { size: items.length });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.#open();
  }

  #chain<U>(gen: () => AsyncGenerator<U>, size: number | undefined): Dataset<U> {
    return new Dataset<U>(() => gen(), size);
  }

  map<U>(fn: (item: T, index: number) => U | Promise<U>): Dataset<U> {
    const self = this;
    return this.#chain(async function* () {
      let i = 0;
      for await (const x of self) yield await fn(x, i++);
    }, this.size);
  }

  filter(fn: (item: T, index: number) => boolean | Promise<boolean>): Dataset<T> {
    const self = this;
    return this.#chain(async function* () {
      let i = 0;
      for await (const x of self) if (await fn(x, i++)) yield x;
    }, undefined);
  }

  /**
   * Seeded buffer shuffle: fills a buffer of `bufferSize` items and yields a random one as each new item
   * arrives. A buffer at least as large as the dataset gives a uniform shuffle. Each pass (epoch) uses a
   * new order derived from `seed` and the pass number, so runs with the same seed repeat exactly.
   */
  shuffle(bufferSize: number, seed: number | string, options: { reshuffleEachIteration?: boolean } = {}): Dataset<T> {
    checkCount('shuffle', bufferSize, 1);
    const self = this;
    const reshuffle = options.reshuffleEachIteration ?? true;
    const base = hashSeed(seed);
    let pass = 0;
    return this.#chain(async function* () {
      const rng = createRng(reshuffle ? hashSeed(`${base}:${pass++}`) : base);
      const buf: T[] = [];
      for await (const x of self) {
        if (buf.length < bufferSize) {
          buf.push(x);
          continue;
        }
        const j = rng.int(bufferSize);
        const out = buf[j]!;
        buf[j] = x;
        yield out;
      }
      rng.shuffle(buf);
      yield* buf;
    }, this.size);
  }

  /** Groups items into arrays of `size`; the last, shorter one is kept unless `dropRemainder`. */
  batch(size: number, options: { dropRemainder?: boolean } = {}): Dataset<T[]> {
    checkCount('batch', size, 1);
    const self = this;
    const drop = options.dropRemainder ?? false;
    const n = this.size === undefined ? undefined : drop ? Math.floor(this.size / size) : Math.ceil(this.size / size);
    return this.#chain(async function* () {
      let buf: T[] = [];
      for await (const x of self) {
        buf.push(x);
        if (buf.length === size) {
          yield buf;
          buf = [];
        }
      }
      if (buf.length > 0 && !drop) yield buf;
    }, n);
  }

  /**
   * Reads up to `n` items ahead of the consumer, so file reads and image decoding overlap with training.
   * It asks the upstream for the next items before they are needed; async generators queue these calls.
   */
  prefetch(n: number): Dataset<T> {
    checkCount('prefetch', n, 0);
    if (n === 0) return this;
    const self = this;
    return this.#chain(async function* () {
      const it = self[Symbol.asyncIterator]();
      const queue: Promise<IteratorResult<T>>[] = [];
      let done = false;
      try {
        while (true) {
          while (!done && queue.length <= n) queue.push(it.next());
          const r = await queue.shift()!;
          if (r.done) {
            done = true;
            return;
          }
          yield r.value;
        }
      } finally {
        // Settle what is in flight (errors there belong to items nobody asked for), then close upstream.
        await Promise.allSettled(queue);
        if (!done) await it.return?.();
      }
    }, this.size);
  }

  /**
   * Remembers the items of the first complete pass and replays them afterwards: in memory, or in a file
   * under `dir` when they do not fit. A pass that stops early caches nothing.
   */
  cache(options: CacheOptions = {}): Dataset<T> {
    const self = this;
    if (options.dir !== undefined) {
      const store = diskCache<T>(options.dir);
      return this.#chain(async function* () {
        if (store.ready()) {
          yield* store.read();
          return;
        }
        const writer = await store.begin();
        let complete = false;
        try {
          for await (const x of self) {
            await writer.write(x);
            yield x;
          }
          complete = true;
        } finally {
          await writer.end(complete);
        }
      }, this.size);
    }
    let cached: T[] | undefined;
    return this.#chain(async function* () {
      if (cached) {
        yield* cached;
        return;
      }
      const items: T[] = [];
      for await (const x of self) {
        items.push(x);
        yield x;
      }
      cached = items;
    }, this.size);
  }

  take(n: number): Dataset<T> {
    checkCount('take', n, 0);
    const self = this;
    return this.#chain(async function* () {
      if (n === 0) return;
      let i = 0;
      for await (const x of self) {
        yield x;
        if (++i >= n) return;
      }
    }, this.size === undefined ? undefined : Math.min(n, this.size));
  }

  skip(n: number): Dataset<T> {
    checkCount('skip', n, 0);
    const self = this;
    return this.#chain(async function* () {
      let i = 0;
      for await (const x of self) if (i++ >= n) yield x;
    }, this.size === undefined ? undefined : Math.max(0, this.size - n));
  }

  /** Repeats the whole dataset `count` times, or forever when `count` is omitted. */
  repeat(count?: number): Dataset<T> {
    if (count !== undefined) checkCount('repeat', count, 0);
    const self = this;
    const size = count === undefined ? (this.size === 0 ? 0 : undefined) : this.size === undefined ? undefined : this.size * count;
    return this.#chain(async function* () {
      for (let r = 0; count === undefined || r < count; r++) {
        let any = false;
        for await (const x of self) {
          any = true;
          yield x;
        }
        if (!any) return; // an empty dataset repeated forever would spin
      }
    }, size);
  }

  /** Reads every item into an array. */
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const x of this) out.push(x);
    return out;
  }
}

function toAsync<T>(s: Iterable<T> | AsyncIterable<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in s) return (s as AsyncIterable<T>)[Symbol.asyncIterator]();
  const it = (s as Iterable<T>)[Symbol.iterator]();
  return {
    next: async () => it.next(),
    return: async (v?: unknown) => it.return?.(v) ?? { done: true, value: v as T },
  };
}
