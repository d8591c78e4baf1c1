/**
 * Progress display for long CLI runs (downloads, classify --file, eval). On a terminal: one line redrawn in place on
 * stderr, at most 10 times a second. Elsewhere (pipes, CI logs) the commands print a few plain lines instead, so logs
 * stay readable; the formatting here is pure so that it can be tested without a terminal.
 */
import type { Writable } from "node:stream";

/** Bytes in SI units, as the Hub shows sizes: 267832560 → "267.8 MB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "?";
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** Seconds as m:ss or h:mm:ss; "?" when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Integer with thousands separators, independent of the locale: 10000 → "10,000". */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** "[=========>          ]" for a fraction in [0, 1]. */
export function bar(fraction: number, width: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.floor(f * width);
  const head = full < width && f > 0 ? ">" : "";
  return `[${"=".repeat(full)}${head}${" ".repeat(width - full - head.length)}]`;
}

export interface DownloadProgress {
  file: string;
  /** Bytes on disk for this file, including a resumed part. */
  received: number;
  /** Total size, or undefined when the server did not say. */
  total: number | undefined;
  /** Bytes that were already on disk when this transfer started (a resume). */
  resumedFrom: number;
  /** Milliseconds since this transfer started. */
  elapsedMs: number;
}

/** `model.safetensors [====>     ]  45%  120.5 MB/267.8 MB  12.3 MB/s  ETA 0:12` */
export function downloadProgressLine(p: DownloadProgress, barWidth = 20): string {
  const seconds = p.elapsedMs / 1000;
  const rate = seconds > 0 ? (p.received - p.resumedFrom) / seconds : 0;
  const parts = [p.file];
  if (p.total !== undefined && p.total > 0) {
    const f = p.received / p.total;
    parts.push(bar(f, barWidth), `${(f * 100).toFixed(0).padStart(3)}%`, `${formatBytes(p.received)}/${formatBytes(p.total)}`);
  } else {
    parts.push(formatBytes(p.received));
  }
  parts.push(`${formatBytes(rate)}/s`);
  if (p.total !== undefined && rate > 0) parts.push(`ETA ${formatDuration((p.total - p.received) / rate)}`);
  return parts.join("  ");
}

export interface ClassifyProgress {
  texts: number;
  /** Input bytes consumed so far and the input's size, when known: progress through a file of unknown row count. */
  bytesRead: number;
  totalBytes: number | undefined;
  elapsedMs: number;
}

/** `[====>     ]  45%  4,500 texts  812 texts/s  ETA 0:07` */
export function classifyProgressLine(p: ClassifyProgress, barWidth = 20): string {
  const seconds = p.elapsedMs / 1000;
  const rate = seconds > 0 ? p.texts / seconds : 0;
  const parts: string[] = [];
  let eta: number | undefined;
  if (p.totalBytes !== undefined && p.totalBytes > 0) {
    const f = Math.min(1, p.bytesRead / p.totalBytes);
    parts.push(bar(f, barWidth), `${(f * 100).toFixed(0).padStart(3)}%`);
    if (f > 0 && seconds > 0) eta = (seconds * (1 - f)) / f;
  }
  parts.push(`${formatCount(p.texts)} texts`, `${rate.toFixed(rate < 10 ? 1 : 0)} texts/s`);
  if (eta !== undefined) parts.push(`ETA ${formatDuration(eta)}`);
  return parts.join("  ");
}

/** One status line redrawn in place on a terminal; throttled so that redrawing never costs real time. */
export class StatusLine {
  private last = 0;
  private shown = false;

  constructor(
    private readonly out: Writable,
    private readonly intervalMs = 100,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Redraw with `render()` unless the last redraw was less than intervalMs ago (or `force`). */
  update(render: () => string, force = false): void {
    const t = this.now();
    if (!force && this.shown && t - this.last < this.intervalMs) return;
    this.last = t;
    this.shown = true;
    const columns = (this.out as Writable & { columns?: number }).columns;
    let line = render();
    if (columns !== undefined && columns > 1 && line.length >= columns) line = line.slice(0, columns - 1);
    // \r back to column 0, ESC[K clears what a longer previous line left behind.
    this.out.write(`\r${line}\x1b[K`);
  }

  /** Leave the line: erase it, or replace it with `final` and a newline. */
  finish(final?: string): void {
    if (this.shown) this.out.write(`\r\x1b[K`);
    this.shown = false;
    if (final !== undefined) this.out.write(final + "\n");
  }
}
