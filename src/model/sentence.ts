/**
 * The sentence-transformers modules that follow a bare DistilBertModel (modules.json): Pooling, Dense and Normalize,
 * each read from its own folder (`1_Pooling/config.json`, `2_Dense/config.json` + `2_Dense/model.safetensors`), as
 * sentence-transformers' `SentenceTransformer(path)` builds them. Any other module type is refused by name.
 */
import { ConfigError, WeightsError } from "../errors.js";
import { Linear } from "../layers/linear.js";
import { quantizeRows } from "../tensor/quant.js";
import type { Span } from "../layers/context.js";
import { describeValue, quoted } from "../printable.js";
import { SafetensorsFile } from "../safetensors/index.js";
import type { Backend } from "../tensor/backend.js";
import { gelu } from "../tensor/erf.js";
import { SafetensorsWeights } from "./weights.js";

export type PoolingMode = "cls" | "max" | "mean" | "mean_sqrt_len_tokens" | "weightedmean" | "lasttoken";
/** sentence-transformers concatenates the pooled vectors in this order when several modes are on. */
const POOLING_ORDER: readonly PoolingMode[] = ["cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"];

export type DenseActivation = "identity" | "tanh" | "relu" | "gelu" | "sigmoid";
const DENSE_ACTIVATIONS: Record<string, DenseActivation> = {
  "torch.nn.modules.linear.Identity": "identity",
  "torch.nn.modules.activation.Tanh": "tanh",
  "torch.nn.modules.activation.ReLU": "relu",
  "torch.nn.modules.activation.GELU": "gelu",
  "torch.nn.modules.activation.Sigmoid": "sigmoid",
};

/** The files of a sentence-transformers folder, by path relative to it ("1_Pooling/config.json", ...). */
export interface SentenceTransformersFiles {
  /** modules.json, as text or parsed. */
  modules: string | object;
  /** Each module's files: config.json as text, model.safetensors as bytes. */
  files: Record<string, string | Uint8Array>;
}

export type SentenceModule =
  | { readonly type: "pooling"; readonly modes: readonly PoolingMode[] }
  | { readonly type: "dense"; readonly linear: Linear; readonly activation: DenseActivation; readonly path: string }
  | { readonly type: "normalize" };

const MAX_MODULES = 64;

/**
 * modules.json and each module's files → the modules after the Transformer, validated field by field. `q8`: the
 * encoder runs in q8, and a Dense module's matrix is quantized at load too (its file stays float: `quantize` copies
 * the module folders), so that the whole model gives the same bits in every backend.
 */
export function parseSentenceModules(st: SentenceTransformersFiles, dim: number, backend: Backend, q8 = false): SentenceModule[] {
  const list = json(st.modules, "modules.json");
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_MODULES) {
    throw new ConfigError("modules.json", `top level is ${describeValue(list)}`, `a list of 1 to ${MAX_MODULES} modules`);
  }
  const out: SentenceModule[] = [];
  let width = dim;
  list.forEach((m: unknown, i) => {
    const where = `modules.json[${i}]`;
    if (m === null || typeof m !== "object" || Array.isArray(m)) throw new ConfigError(where, `is ${describeValue(m)}`, "an object with type and path");
    const { type, path } = m as Record<string, unknown>;
    if (typeof type !== "string") throw new ConfigError(where, `field "type" is ${describeValue(type)}`, "a module class name");
    const p = path === undefined ? "" : path;
    if (typeof p !== "string" || p.includes("..") || p.startsWith("/") || p.includes("\\")) {
      throw new ConfigError(where, `field "path" is ${typeof p === "string" ? quoted(p, 60) : describeValue(p)}`, "a folder name inside the model folder");
    }
    const kind = type.split(".").pop();
    if (kind === "Transformer") {
      if (i !== 0) throw new ConfigError(where, "a Transformer module after the first", "the Transformer first");
      return;
    }
    if (i === 0) throw new ConfigError(where, `the first module is ${quoted(type, 80)}`, "the Transformer (the DistilBERT encoder)");
    const configPath = `${p}/config.json`;
    if (kind === "Pooling") {
      if (out.length > 0) throw new ConfigError(where, "Pooling after another module", "Pooling right after the Transformer");
      const modes = parsePooling(json(fileText(st, configPath), configPath), configPath, width);
      out.push({ type: "pooling", modes });
      width *= modes.length;
    } else if (kind === "Dense") {
      if (out.length === 0) throw new ConfigError(where, "Dense before Pooling", "Pooling right after the Transformer");
      const dense = parseDense(st, p, configPath, width, backend, q8);
      out.push(dense);
      width = dense.linear.dOut;
    } else if (kind === "Normalize") {
      if (out.length === 0) throw new ConfigError(where, "Normalize before Pooling", "Pooling right after the Transformer");
      out.push({ type: "normalize" });
    } else {
      throw new ConfigError(where, `module type ${quoted(type, 80)} is not supported`, "Transformer, Pooling, Dense, Normalize");
    }
  });
  return out;
}

function parsePooling(cfg: unknown, where: string, dim: number): PoolingMode[] {
  if (cfg === null || typeof cfg !== "object" || Array.isArray(cfg)) throw new ConfigError(where, `top level is ${describeValue(cfg)}`, "a JSON object");
  const c = cfg as Record<string, unknown>;
  const size = c.embedding_dimension ?? c.word_embedding_dimension;
  if (size !== undefined && size !== dim) throw new ConfigError(where, `embedding dimension is ${describeValue(size)}`, `${dim}, the encoder's dim`);
  const modes = new Set<PoolingMode>();
  const mode = c.pooling_mode;
  if (mode !== undefined) {
    // sentence-transformers ≥ 5 writes one mode name (or a list); older versions write one boolean per mode.
    const names = Array.isArray(mode) ? mode : [mode];
    for (const n of names) {
      const known = POOLING_ORDER.find((k) => k === n || `${k}_token` === n || `${k}_tokens` === n);
      if (known === undefined) throw new ConfigError(where, `pooling_mode ${typeof n === "string" ? quoted(n, 40) : describeValue(n)} is not supported`, POOLING_ORDER.join(", "));
      modes.add(known);
    }
  }
  const flags: [string, PoolingMode][] = [
    ["pooling_mode_cls_token", "cls"], ["pooling_mode_max_tokens", "max"], ["pooling_mode_mean_tokens", "mean"],
    ["pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"], ["pooling_mode_weightedmean_tokens", "weightedmean"], ["pooling_mode_lasttoken", "lasttoken"],
  ];
  for (const [field, m] of flags) {
    const v = c[field];
    if (v === undefined) continue;
    if (typeof v !== "boolean") throw new ConfigError(where, `field "${field}" is ${describeValue(v)}`, "true or false");
    if (v) modes.add(m);
  }
  if (modes.size === 0) throw new ConfigError(where, "no pooling mode is on", `pooling_mode, one of ${POOLING_ORDER.join(", ")}`);
  return POOLING_ORDER.filter((m) => modes.has(m));
}

function parseDense(st: SentenceTransformersFiles, dir: string, where: string, width: number, backend: Backend, q8: boolean): Extract<SentenceModule, { type: "dense" }> {
  const cfg = json(fileText(st, where), where);
  if (cfg === null || typeof cfg !== "object" || Array.isArray(cfg)) throw new ConfigError(where, `top level is ${describeValue(cfg)}`, "a JSON object");
  const c = cfg as Record<string, unknown>;
  const dim = (field: string): number => {
    const v = c[field];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 1 << 16) throw new ConfigError(where, `field "${field}" is ${describeValue(v)}`, "an integer from 1 to 65536");
    return v;
  };
  const dIn = dim("in_features");
  const dOut = dim("out_features");
  if (dIn !== width) throw new ConfigError(where, `in_features is ${dIn}`, `${width}, the width of the module before it`);
  const bias = c.bias ?? true;
  if (typeof bias !== "boolean") throw new ConfigError(where, `field "bias" is ${describeValue(bias)}`, "true or false");
  const actName = c.activation_function ?? "torch.nn.modules.activation.Tanh";
  const activation = typeof actName === "string" ? DENSE_ACTIVATIONS[actName] : undefined;
  if (activation === undefined || !Object.hasOwn(DENSE_ACTIVATIONS, actName as string)) {
    throw new ConfigError(where, `activation_function ${typeof actName === "string" ? quoted(actName, 60) : describeValue(actName)} is not supported`, Object.keys(DENSE_ACTIVATIONS).join(", "));
  }
  const weightsPath = `${dir}/model.safetensors`;
  const bytes = st.files[weightsPath];
  if (!(bytes instanceof Uint8Array)) throw new WeightsError(weightsPath, "is missing", `the Dense module's weights (linear.weight [${dOut}, ${dIn}]) as safetensors`);
  const file = SafetensorsFile.parse(bytes, { source: weightsPath, maxHeaderLength: 1 << 16 });
  const src = new SafetensorsWeights(file);
  const weight = src.get("linear.weight", [dOut, dIn]);
  const b = bias ? src.get("linear.bias", [dOut]) : null;
  const w = q8 && backend.prepareLinearQ8 !== undefined
    ? backend.prepareLinearQ8(quantizeRows(weight, dOut, dIn, `${weightsPath}: tensor "linear.weight"`), b)
    : backend.prepareLinear(weight, b, dOut, dIn);
  return { type: "dense", linear: new Linear(w), activation, path: dir };
}

function fileText(st: SentenceTransformersFiles, path: string): string {
  const f = st.files[path];
  if (typeof f !== "string") throw new ConfigError(path, "is missing", "the module's config.json");
  return f;
}

function json(v: string | object, where: string): unknown {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v);
  } catch {
    throw new ConfigError(where, "is not valid JSON");
  }
}

/** hidden [N, dim] of packed spans → pooled [S, dim · modes], computed in float64 as sentence-transformers' float64 run. */
export function pool(hidden: Float32Array, spans: readonly Span[], dim: number, modes: readonly PoolingMode[]): Float32Array {
  const width = dim * modes.length;
  const out = new Float32Array(spans.length * width);
  const acc = new Float64Array(dim);
  spans.forEach((s, b) => {
    modes.forEach((mode, mi) => {
      const o = b * width + mi * dim;
      // Rows with keyMask 0 are padding: sentence-transformers' attention mask leaves them out of every mode.
      const on = (t: number) => s.keyMask === null || s.keyMask[t] !== 0;
      let count = 0;
      let weights = 0;
      acc.fill(mode === "max" ? -Infinity : 0);
      let last = 0;
      for (let t = 0; t < s.len; t++) {
        if (!on(t)) continue;
        const row = (s.start + t) * dim;
        count++;
        last = t;
        if (mode === "max") for (let c = 0; c < dim; c++) acc[c] = Math.max(acc[c], hidden[row + c]);
        else if (mode === "weightedmean") {
          weights += t + 1;
          for (let c = 0; c < dim; c++) acc[c] += (t + 1) * hidden[row + c];
        } else if (mode !== "cls" && mode !== "lasttoken") for (let c = 0; c < dim; c++) acc[c] += hidden[row + c];
      }
      if (mode === "cls") out.set(hidden.subarray(s.start * dim, (s.start + 1) * dim), o);
      else if (mode === "lasttoken") out.set(hidden.subarray((s.start + last) * dim, (s.start + last + 1) * dim), o);
      else {
        const div = mode === "mean" ? Math.max(count, 1e-9) : mode === "mean_sqrt_len_tokens" ? Math.sqrt(Math.max(count, 1e-9)) : mode === "weightedmean" ? Math.max(weights, 1e-9) : 1;
        for (let c = 0; c < dim; c++) out[o + c] = acc[c] / div;
      }
    });
  });
  return out;
}

/** In place over x [rows, C]: the Dense module's activation. */
export function denseActivate(x: Float32Array, act: DenseActivation): void {
  if (act === "identity") return;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    x[i] = act === "tanh" ? Math.tanh(v) : act === "relu" ? Math.max(0, v) : act === "sigmoid" ? 1 / (1 + Math.exp(-v)) : gelu(v);
  }
}

/** In place over x [rows, C]: x / max(‖x‖₂, 1e-12) per row, torch.nn.functional.normalize. */
export function l2Normalize(x: Float32Array, rows: number, C: number): void {
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[r * C + c] * x[r * C + c];
    const n = Math.max(Math.sqrt(ss), 1e-12);
    for (let c = 0; c < C; c++) x[r * C + c] /= n;
  }
}
