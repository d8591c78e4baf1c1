/**
 * Prometheus metrics kept in plain objects: counters and gauges by label set, histograms with fixed buckets.
 * Label values come only from fixed sets (route names of the table, status codes), never from the request, so the
 * number of series is bounded whatever clients send.
 */
export class Counter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Record<string, string> = {}, by = 1): void {
    const key = labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  get(labels: Record<string, string> = {}): number {
    return this.values.get(labelText(labels)) ?? 0;
  }
  render(): string {
    let s = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    for (const [k, v] of this.values) s += `${this.name}${k} ${v}\n`;
    return s;
  }
}

export class Gauge {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}
  render(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n${this.name} ${this.read()}\n`;
  }
}

export class Histogram {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds, ascending; +Inf is added. */
    readonly buckets: readonly number[],
  ) {}
  observe(value: number, labels: Record<string, string> = {}): void {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (s === undefined) this.series.set(key, (s = { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) s.counts[i]++;
    s.sum += value;
    s.count++;
  }
  count(labels: Record<string, string> = {}): number {
    return this.series.get(labelText(labels))?.count ?? 0;
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    for (const [key, s] of this.series) {
      const inner = key === "" ? "" : key.slice(1, -1) + ",";
      this.buckets.forEach((b, i) => (out += `${this.name}_bucket{${inner}le="${b}"} ${s.counts[i]}\n`));
      out += `${this.name}_bucket{${inner}le="+Inf"} ${s.count}\n${this.name}_sum${key} ${s.sum}\n${this.name}_count${key} ${s.count}\n`;
    }
    return out;
  }
}

function labelText(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${labels[k].replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`))}"`).join(",")}}`;
}

/** The server's metrics; names follow TEI's `te_` prefix. */
export class ServerMetrics {
  readonly requests = new Counter("te_http_requests_total", "HTTP requests answered, by route and status code");
  readonly duration = new Histogram("te_request_duration_seconds", "Time from a request's arrival to its response, by route", [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
  ]);
  readonly queueDuration = new Histogram("te_request_queue_duration_seconds", "Time an input waited for its batch", [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
  ]);
  readonly batchSize = new Histogram("te_batch_size", "Inputs per model batch", [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
  readonly batchTokens = new Histogram("te_batch_tokens", "Tokens per model batch", [16, 64, 256, 1024, 2048, 4096, 8192, 16384, 32768]);
  readonly batchDuration = new Histogram("te_batch_inference_duration_seconds", "Time the model took for one batch", [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
  ]);
  private readonly gauges: Gauge[];

  constructor(readQueue: () => number, readInFlight: () => number, readBackendMemory: () => number, private readonly host?: () => string) {
    this.gauges = [
      new Gauge("te_queue_size", "Inputs waiting for a batch", readQueue),
      new Gauge("te_requests_in_flight", "Requests counted against --max-concurrent-requests", readInFlight),
      new Gauge(
        "te_backend_memory_bytes",
        "WebAssembly memory of the model's backend: the weights and the arena of the largest batch so far (it never shrinks); 0 for the JS backend",
        readBackendMemory,
      ),
    ];
  }

  render(): string {
    const own = [this.requests, this.duration, this.queueDuration, this.batchSize, this.batchTokens, this.batchDuration, ...this.gauges].map((m) => m.render()).join("");
    return own + (this.host?.() ?? "");
  }
}
