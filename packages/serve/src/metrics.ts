/** Latency buckets in seconds (Prometheus `le`), from sub-millisecond to slow batch requests. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) this.counts[i]!++;
  }
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelText = (labels: Record<string, string>) => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${esc(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};

/** The server's counters and histograms, rendered in the Prometheus text format (0.0.4). */
export class ServeMetrics {
  private readonly requests = new Map<string, { labels: Record<string, string>; n: number }>();
  private readonly latency = new Map<string, Histogram>();
  private readonly errors = new Map<string, { labels: Record<string, string>; n: number }>();
  private readonly batches = new Histogram(BATCH_BUCKETS);
  private predictions = 0;
  private reloads = 0;

  /** One finished HTTP request. */
  request(route: string, method: string, status: number, seconds: number): void {
    const labels = { route, method, status: String(status) };
    const key = `${method} ${route} ${status}`;
    const r = this.requests.get(key) ?? { labels, n: 0 };
    r.n++;
    this.requests.set(key, r);
    const hKey = `${method} ${route}`;
    let h = this.latency.get(hKey);
    if (!h) this.latency.set(hKey, (h = new Histogram(LATENCY_BUCKETS)));
    h.observe(seconds);
    if (status >= 400) {
      const code = status >= 500 ? 'server' : 'client';
      const e = this.errors.get(`${route} ${code}`) ?? { labels: { route, kind: code }, n: 0 };
      e.n++;
      this.errors.set(`${route} ${code}`, e);
    }
  }

  batch(size: number): void {
    this.batches.observe(size);
    this.predictions += size;
  }

  reloaded(): void {
    this.reloads++;
  }

  /** The exposition text for GET /metrics. `info` becomes a gauge of value 1 with these labels. */
  render(info: Record<string, string>, gauges: Record<string, { help: string; value: number }> = {}): string {
    const out: string[] = [];
    out.push('# HELP tfpipe_serve_requests_total HTTP requests by route, method and status.', '# TYPE tfpipe_serve_requests_total counter');
    for (const r of this.requests.values()) out.push(`tfpipe_serve_requests_total${labelText(r.labels)} ${r.n}`);
    out.push('# HELP tfpipe_serve_errors_total Requests answered with 4xx (client) or 5xx (server).', '# TYPE tfpipe_serve_errors_total counter');
    for (const e of this.errors.values()) out.push(`tfpipe_serve_errors_total${labelText(e.labels)} ${e.n}`);
    out.push('# HELP tfpipe_serve_request_duration_seconds Request latency.', '# TYPE tfpipe_serve_request_duration_seconds histogram');
    for (const [key, h] of this.latency) {
      const [method, route] = key.split(' ') as [string, string];
      histogramLines(out, 'tfpipe_serve_request_duration_seconds', { route, method }, h);
    }
    out.push('# HELP tfpipe_serve_batch_size Rows per model call (micro-batching).', '# TYPE tfpipe_serve_batch_size histogram');
    histogramLines(out, 'tfpipe_serve_batch_size', {}, this.batches);
    out.push('# HELP tfpipe_serve_predictions_total Rows predicted.', '# TYPE tfpipe_serve_predictions_total counter', `tfpipe_serve_predictions_total ${this.predictions}`);
    out.push('# HELP tfpipe_serve_reloads_total Successful hot reloads.', '# TYPE tfpipe_serve_reloads_total counter', `tfpipe_serve_reloads_total ${this.reloads}`);
    for (const [name, g] of Object.entries(gauges)) out.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} gauge`, `${name} ${g.value}`);
    out.push('# HELP tfpipe_serve_model_info The model being served.', '# TYPE tfpipe_serve_model_info gauge', `tfpipe_serve_model_info${labelText(info)} 1`);
    return `${out.join('\n')}\n`;
  }
}

function histogramLines(out: string[], name: string, labels: Record<string, string>, h: Histogram): void {
  for (let i = 0; i < h.buckets.length; i++) out.push(`${name}_bucket${labelText({ ...labels, le: String(h.buckets[i]) })} ${h.counts[i]}`);
  out.push(`${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${h.count}`);
  out.push(`${name}_sum${labelText(labels)} ${h.sum}`);
  out.push(`${name}_count${labelText(labels)} ${h.count}`);
}
