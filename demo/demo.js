// The demo page: model picking, progress, as-you-type classification and the attention view. The engine itself
// runs in worker.js; this file only talks to it and draws.
import { pickModelFiles } from "./loader.js";

const $ = (id) => document.getElementById(id);
const els = {
  urlForm: $("url-form"),
  url: $("model-url"),
  loadUrl: $("load-url"),
  drop: $("drop"),
  folder: $("folder"),
  suggestions: $("suggestions"),
  progressWrap: $("progress-wrap"),
  progress: $("progress"),
  progressText: $("progress-text"),
  status: $("status"),
  info: $("model-info"),
  text: $("text"),
  result: $("result"),
  label: $("label"),
  score: $("score"),
  bars: $("bars"),
  timing: $("timing"),
  tokens: $("tokens"),
  layer: $("layer"),
  head: $("head"),
  canvas: $("attn"),
  hover: $("attn-hover"),
};

const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
let info = null;
let nextId = 1;
let inFlight = false;
let dirty = false;
let loading = false;
let shown = null; // the last result drawn: { tokens, attention }

// ---- messages from the worker ------------------------------------------------------------------------------------

let progressFrame = 0;
let lastProgress = null;
worker.onmessage = (e) => {
  const msg = e.data;
  if (msg.type === "progress") {
    lastProgress = msg;
    if (!progressFrame) progressFrame = requestAnimationFrame(drawProgress);
  } else if (msg.type === "ready") {
    loading = false;
    onReady(msg.info);
  } else if (msg.type === "result") {
    inFlight = false;
    showResult(msg);
    if (dirty) requestClassify();
  } else if (msg.type === "attention") {
    if (shown !== null) {
      shown.attention = msg;
      drawAttention();
    }
  } else if (msg.type === "error") {
    if (msg.during === "classify") inFlight = false;
    if (msg.during === "load") loading = false;
    setStatus(`${msg.name && msg.name !== "Error" ? msg.name + ": " : ""}${msg.message}`, "error");
    setBusy(false);
  }
};
worker.onerror = (e) => setStatus(`worker failed: ${e.message}`, "error");

function drawProgress() {
  progressFrame = 0;
  const { file, loaded, total } = lastProgress;
  els.progressWrap.hidden = false;
  if (total) {
    els.progress.max = total;
    els.progress.value = loaded;
    els.progressText.textContent = `${file}  ${mb(loaded)} / ${mb(total)}  (${((100 * loaded) / total).toFixed(1)}%)`;
  } else {
    els.progress.removeAttribute("value");
    els.progressText.textContent = `${file}  ${mb(loaded)}`;
  }
  els.progressWrap.dataset.loaded = String(loaded);
  els.progressWrap.dataset.total = String(total ?? "");
}

// ---- loading -----------------------------------------------------------------------------------------------------

function setStatus(text, kind = "") {
  els.status.textContent = text;
  els.status.className = `status ${kind}`;
  els.status.dataset.state = kind || "info";
}

function setBusy(busy) {
  els.loadUrl.disabled = busy;
  els.folder.disabled = busy;
}

let loadedFrom = "";
function startLoad(source, what) {
  if (loading) return;
  loadedFrom = source.kind === "url" ? source.base : "";
  loading = true;
  info = null;
  els.text.disabled = true;
  els.info.hidden = true;
  els.progressWrap.hidden = true;
  els.progress.value = 0;
  setBusy(true);
  setStatus(`Loading ${what}…`);
  worker.postMessage({ type: "load", source, backend: $("backend").value });
}

els.urlForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const raw = els.url.value.trim() || els.url.placeholder;
  let base;
  try {
    base = new URL(raw, location.href).href;
  } catch {
    setStatus(`not a URL: ${raw}`, "error");
    return;
  }
  startLoad({ kind: "url", base }, base);
});

function loadEntries(entries) {
  const picked = pickModelFiles(entries);
  if (picked.missing.length > 0) {
    setStatus(`The folder lacks ${picked.missing.join(", ")}.`, "error");
    return;
  }
  const { config, vocab, tokenizer, weights } = picked;
  // File objects go to the worker as handles; it reads them itself, so the bytes are never on this thread.
  startLoad({ kind: "files", files: { config, vocab, tokenizer, weights } }, weights.name);
}

els.folder.addEventListener("change", () => {
  const files = [...els.folder.files];
  if (files.length > 0) loadEntries(files.map((file) => ({ path: file.webkitRelativePath || file.name, file })));
  els.folder.value = "";
});

els.drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  els.drop.classList.add("over");
});
els.drop.addEventListener("dragleave", () => els.drop.classList.remove("over"));
els.drop.addEventListener("drop", async (e) => {
  e.preventDefault();
  els.drop.classList.remove("over");
  const roots = [...e.dataTransfer.items].map((it) => (it.webkitGetAsEntry ? it.webkitGetAsEntry() : null)).filter(Boolean);
  const entries = roots.length > 0 ? await walkEntries(roots) : [...e.dataTransfer.files].map((file) => ({ path: file.name, file }));
  loadEntries(entries);
});

/** Files under dropped folders (FileSystemEntry API), with their paths. */
async function walkEntries(roots) {
  const out = [];
  const visit = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((res, rej) => entry.file(res, rej));
      out.push({ path: prefix + entry.name, file });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      // readEntries returns the listing in batches until an empty one.
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (batch.length === 0) break;
        for (const child of batch) await visit(child, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const r of roots) await visit(r, "");
  return out;
}

function onReady(i) {
  info = i;
  setBusy(false);
  const p = i.parameters >= 1e6 ? `${(i.parameters / 1e6).toFixed(1)} M` : `${(i.parameters / 1e3).toFixed(1)} k`;
  const rows = [
    ["layers × heads", `${i.layers} × ${i.heads}`],
    ["dim / hidden", `${i.dim} / ${i.hidden}`],
    ["parameters", p],
    ["weights", `${mb(i.weightsBytes)} ${Object.keys(i.dtypes).join("+")}`],
    ["labels", i.labels.join(", ")],
    ["max tokens", String(i.maxLength)],
    ["backend", i.backend],
    ["load", `${i.fetchMs} ms read, ${i.buildMs} ms build`],
    ["file buffer", i.inPlace ? "one copy, f32 used in place" : "one copy, converted to f32"],
  ];
  if (i.wasmMemoryBytes !== null) rows.push(["wasm memory", `${mb(i.wasmMemoryBytes)} (packed Linear weights)`]);
  els.info.replaceChildren(
    ...rows.map(([k, v]) => {
      const d = document.createElement("div");
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = k;
      dd.textContent = v;
      d.append(dt, dd);
      return d;
    }),
  );
  els.info.hidden = false;
  els.info.dataset.inPlace = String(i.inPlace);
  els.info.dataset.backend = i.backend;
  // The shared test fixture has random weights: say so, or its confident-looking labels would mislead.
  const randomWeights = /\/fixture\/?$/.test(loadedFrom);
  setStatus(randomWeights ? "Ready. Type below. (This tiny test model has random weights: its labels mean nothing.)" : "Ready. Type below.", "ready");
  // Counted from 0, as in the inspect report and in activation names (layer.{i}.attn.probs).
  fillSelect(els.layer, Array.from({ length: i.layers }, (_, l) => [String(l), `${l}`]), String(i.layers - 1));
  fillSelect(els.head, [["-1", "mean of heads"], ...Array.from({ length: i.heads }, (_, h) => [String(h), `${h}`])], "-1");
  els.text.disabled = false;
  els.text.focus();
  requestClassify();
}

function fillSelect(select, options, value) {
  select.replaceChildren(
    ...options.map(([v, text]) => {
      const o = document.createElement("option");
      o.value = v;
      o.textContent = text;
      return o;
    }),
  );
  select.value = value;
}

// ---- classification as you type ----------------------------------------------------------------------------------

let debounce = 0;
els.text.addEventListener("input", () => {
  clearTimeout(debounce);
  debounce = setTimeout(requestClassify, 60);
});

/** One request at a time; keystrokes during a request mark the text dirty and the newest text goes next. */
function requestClassify() {
  if (info === null) return;
  if (inFlight) {
    dirty = true;
    return;
  }
  dirty = false;
  inFlight = true;
  worker.postMessage({ type: "classify", id: nextId++, text: els.text.value, layer: Number(els.layer.value), head: Number(els.head.value) });
}

function showResult(r) {
  const labelClass = /^[A-Z_]+$/.test(r.label) ? r.label : "";
  els.label.textContent = r.label;
  els.label.className = `label ${labelClass}`;
  els.score.textContent = `${(100 * r.score).toFixed(1)}%`;
  els.bars.replaceChildren();
  for (const [name, p] of Object.entries(r.scores)) {
    const n = document.createElement("span");
    n.textContent = name;
    const bar = document.createElement("div");
    bar.className = `bar ${/^[A-Z_]+$/.test(name) ? name : ""}`;
    const fill = document.createElement("span");
    fill.style.width = `${(100 * p).toFixed(2)}%`;
    bar.append(fill);
    const v = document.createElement("span");
    v.className = "mono";
    v.textContent = p.toFixed(4);
    els.bars.append(n, bar, v);
  }
  els.timing.textContent = `${r.tokens.length} tokens${r.truncated ? " (truncated)" : ""} · ${r.ms.toFixed(1)} ms in the worker`;
  els.tokens.replaceChildren(
    ...r.tokens.map((t) => {
      const s = document.createElement("span");
      s.textContent = t;
      if (/^\[[A-Z]+\]$/.test(t)) s.className = "special";
      return s;
    }),
  );
  // For scripts and tests: what this result is about, at full precision.
  Object.assign(els.result.dataset, { text: r.text, label: r.label, score: String(r.score), logits: JSON.stringify(r.logits), tokens: String(r.tokens.length) });
  shown = { tokens: r.tokens, attention: r.attention };
  drawAttention();
}

// ---- attention heatmap ------------------------------------------------------------------------------------------

for (const sel of [els.layer, els.head]) {
  sel.addEventListener("change", () => {
    if (shown !== null) worker.postMessage({ type: "attention", layer: Number(els.layer.value), head: Number(els.head.value) });
  });
}

let geometry = null;
function drawAttention() {
  const { tokens, attention } = shown;
  if (attention === null) {
    geometry = null;
    els.canvas.width = els.canvas.height = 0;
    els.canvas.style.width = els.canvas.style.height = "0px";
    els.hover.textContent = `${tokens.length} tokens: too long for the attention view (at most 256).`;
    delete els.canvas.dataset.tokens;
    return;
  }
  els.hover.textContent = "";
  const { T, map } = attention;
  const cell = Math.max(4, Math.min(26, Math.floor(600 / T)));
  const labels = cell >= 9;
  const ctx = els.canvas.getContext("2d");
  ctx.font = "12px ui-monospace, Menlo, Consolas, monospace";
  const gutter = labels ? Math.min(140, Math.ceil(Math.max(...tokens.map((t) => ctx.measureText(t).width))) + 10) : 4;
  const top = labels ? gutter : 4;
  const w = gutter + T * cell + 4;
  const h = top + T * cell + 4;
  const dpr = window.devicePixelRatio || 1;
  els.canvas.width = Math.ceil(w * dpr);
  els.canvas.height = Math.ceil(h * dpr);
  els.canvas.style.width = `${w}px`;
  els.canvas.style.height = `${h}px`;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = "12px ui-monospace, Menlo, Consolas, monospace";
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) {
      // sqrt spreads the small probabilities (most of them) over more of the color range.
      const v = Math.sqrt(Math.min(1, Math.max(0, map[i * T + j])));
      const r = Math.round(255 - v * (255 - 38));
      const g = Math.round(255 - v * (255 - 62));
      const b = Math.round(255 - v * (255 - 150));
      ctx.fillStyle = `rgb(${r},${g},${b})`;
      ctx.fillRect(gutter + j * cell, top + i * cell, cell - (cell > 6 ? 1 : 0), cell - (cell > 6 ? 1 : 0));
    }
  }
  if (labels) {
    ctx.fillStyle = "#1d2330";
    ctx.textBaseline = "middle";
    ctx.textAlign = "right";
    tokens.forEach((t, i) => ctx.fillText(clip(ctx, t, gutter - 8), gutter - 6, top + i * cell + cell / 2));
    tokens.forEach((t, j) => {
      ctx.save();
      ctx.translate(gutter + j * cell + cell / 2, top - 6);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = "left";
      ctx.fillText(clip(ctx, t, top - 8), 0, 0);
      ctx.restore();
    });
  }
  geometry = { gutter, top, cell, T };
  els.canvas.dataset.tokens = String(T);
  els.canvas.dataset.layer = String(attention.layer);
  els.canvas.dataset.head = String(attention.head);
}

function clip(ctx, text, width) {
  if (ctx.measureText(text).width <= width) return text;
  let s = text;
  while (s.length > 1 && ctx.measureText(s + "…").width > width) s = s.slice(0, -1);
  return s + "…";
}

els.canvas.addEventListener("mousemove", (e) => {
  if (geometry === null || shown === null) return;
  const rect = els.canvas.getBoundingClientRect();
  const j = Math.floor((e.clientX - rect.left - geometry.gutter) / geometry.cell);
  const i = Math.floor((e.clientY - rect.top - geometry.top) / geometry.cell);
  if (i < 0 || j < 0 || i >= geometry.T || j >= geometry.T) {
    els.hover.textContent = "";
    return;
  }
  const v = shown.attention.map[i * geometry.T + j];
  els.hover.textContent = `${shown.tokens[i]} → ${shown.tokens[j]}: ${v.toFixed(4)}`;
});

// ---- start -------------------------------------------------------------------------------------------------------

function mb(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`;
}

async function suggest() {
  // Folders the demo server mounts (npm run demo [--model DIR]), offered as one-click URLs. Another static host has
  // no /_mounts.json; then there is nothing to suggest.
  const candidates = [
    ["/model/", "your model folder (--model)"],
    ["/fixture/", "tiny test model (random weights)"],
  ];
  let mounts = [];
  try {
    const r = await fetch("/_mounts.json");
    if (r.ok) mounts = await r.json();
  } catch {
    return;
  }
  const found = candidates.filter(([path]) => mounts.includes(path)).map(([path, what]) => [new URL(path, location.href).href, what]);
  if (found.length === 0) return;
  els.suggestions.replaceChildren("Served here: ");
  for (const [url, what] of found) {
    const a = document.createElement("a");
    a.href = `?model=${encodeURIComponent(url)}`;
    a.textContent = what;
    a.addEventListener("click", (e) => {
      e.preventDefault();
      els.url.value = url;
      els.urlForm.requestSubmit();
    });
    els.suggestions.append(a);
  }
  els.suggestions.hidden = false;
}

suggest();
const fromQuery = new URL(location.href).searchParams.get("model");
if (fromQuery) {
  els.url.value = fromQuery;
  els.urlForm.requestSubmit();
}
