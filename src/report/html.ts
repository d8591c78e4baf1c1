/** Pieces every generated page shares: escaping, colours, number formats, the page shell and its CSS. */

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** JSON safe inside <script type="application/json">: no "</script>", no "<!--". */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Base64 of bytes, written out here so that no runtime's btoa/Buffer is needed. */
export function base64(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  if (i < bytes.length) {
    const n = (bytes[i] << 16) | ((i + 1 < bytes.length ? bytes[i + 1] : 0) << 8);
    out += B64[n >> 18] + B64[(n >> 12) & 63] + (i + 1 < bytes.length ? B64[(n >> 6) & 63] : "=") + "=";
  }
  return out;
}

type RGB = [number, number, number];

/** Sequential ramp for weights (white → deep blue), t in [0, 1]. */
export const SEQUENTIAL: RGB[] = [
  [255, 255, 255], [222, 235, 247], [158, 202, 225], [66, 146, 198], [8, 81, 156], [8, 36, 90],
];

export function ramp(stops: RGB[], t: number): RGB {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f)) as RGB;
}

export function rgb(c: RGB): string {
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** Diverging colour for a signed value scaled to [-1, 1]: orange (negative) – white – blue (positive). */
export function diverging(t: number): string {
  const x = Math.min(1, Math.max(-1, Number.isFinite(t) ? t : 0));
  const end: RGB = x >= 0 ? [33, 102, 172] : [214, 96, 77];
  const a = Math.abs(x);
  return rgb([0, 1, 2].map((k) => Math.round(255 + (end[k] - 255) * a)) as RGB);
}

/** One colour per label, used for that label everywhere on a page (bars, lens lines, occlusion, attributions). */
// Ten, so that a masked LM's ten words (the study's default top k) each keep a colour of their own.
export const LABEL_COLORS = ["#d6604d", "#2166ac", "#1b9e77", "#7570b3", "#e6ab02", "#66a61e", "#a6761d", "#e7298a", "#666666", "#17becf"];
export const labelColor = (j: number): string => LABEL_COLORS[j % LABEL_COLORS.length];
/** What "against a label" is drawn in when there are more than two labels (no single other label to name). */
export const OTHER_COLOR = "#5b6475";

/** White → the colour `hex`, t in [0, 1]. */
export function tint(hex: string, t: number): string {
  const c = [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  return rgb(c.map((v) => Math.round(255 + (v - 255) * x)) as RGB);
}

/** White → the label's colour, t in [0, 1]: how strongly something speaks for that label. */
export function labelTint(j: number, t: number): string {
  return tint(labelColor(j), t);
}

/** Black or white text, whichever reads better on `c`. */
export function inkOn(c: RGB): string {
  return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2] > 150 ? "#111" : "#fff";
}

export function pct(p: number, digits = 1): string {
  return `${(p * 100).toFixed(digits)}%`;
}

export function num(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : x.toFixed(digits);
}

export const BASE_CSS = `
:root { --ink:#1d2330; --muted:#5b6475; --line:#dfe3ea; --bg:#f6f7f9; --card:#fff; --accent:#2166ac; --neg:#d6604d; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: var(--bg); }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 6px; }
p.lead, .note { color: var(--muted); margin: 0 0 12px; }
.note { font-size: 12.5px; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 18px; margin: 16px 0; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
table.data { border-collapse: collapse; font-size: 12.5px; }
table.data th, table.data td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
table.data th { color: var(--muted); font-weight: 600; }
table.data td.l, table.data th.l { text-align: left; }
.scroll { overflow-x: auto; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 999px; font-weight: 600; font-size: 12.5px; }
.pos { color: var(--accent); } .negc { color: var(--neg); }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; }
`;

export function page(title: string, css: string, body: string, script = ""): string {
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // Self-contained: nothing may load from anywhere (no network, no CDN); only the inline style and script run.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">`,
    `<title>${esc(title)}</title>`,
    `<style>${BASE_CSS}${css}</style>`,
    "</head>",
    "<body>",
    body,
    script ? `<script>${script}</script>` : "",
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
