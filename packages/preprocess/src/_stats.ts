/** Welford's one-pass mean and variance (numerically stable), plus min and max. */
export class Welford {
  count = 0;
  mean = 0;
  private m2 = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  update(x: number): void {
    this.count++;
    const d = x - this.mean;
    this.mean += d / this.count;
    this.m2 += d * (x - this.mean);
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  /** Population variance (ddof 0, as scikit-learn's StandardScaler). */
  get variance(): number {
    return this.count > 0 ? this.m2 / this.count : 0;
  }

  get std(): number {
    return Math.sqrt(this.variance);
  }
}

/** Exact median of the values kept in memory (8 bytes per value); average of the middle two for even counts. */
export class ExactMedian {
  private buf = new Float64Array(1024);
  private n = 0;

  update(x: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = x;
  }

  get count(): number {
    return this.n;
  }

  median(): number {
    if (this.n === 0) return Number.NaN;
    const v = this.buf.subarray(0, this.n).sort();
    const mid = this.n >> 1;
    return this.n % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  }
}

/** Counts of category keys; ties of the most frequent one are broken by the smaller key, so the result is deterministic. */
export class Counter {
  readonly counts = new Map<string, number>();

  add(key: string, by = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + by);
  }

  /** Keys by count descending, then key ascending; at most `max`, each seen at least `minCount` times. */
  top(max = Number.POSITIVE_INFINITY, minCount = 1): string[] {
    return [...this.counts.entries()]
      .filter(([, c]) => c >= minCount)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, max)
      .map(([k]) => k);
  }
}

/** Sorts category keys: numerically when all are numbers, else by code unit (deterministic, locale-free). */
export function sortKeys(keys: Iterable<string>): string[] {
  const list = [...keys];
  const numeric = list.length > 0 && list.every((k) => k.trim() !== '' && Number.isFinite(Number(k)));
  return numeric ? list.sort((a, b) => Number(a) - Number(b)) : list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
