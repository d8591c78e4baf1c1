/**
 * Every activation a forward pass can show, with a stable name (like TransformerLens's hook names), its shape and
 * the Hugging Face module it corresponds to. `B` is the batch, `T` the padded length, `H` heads, `dh` = dim / H.
 */
import { InputError } from "../errors.js";
import { didYouMean } from "../suggest.js";
import type { Taps } from "../layers/context.js";
import { Tensor } from "../tensor/tensor.js";
import type { DistilBertConfig } from "./config.js";
import { type DistilBertHead, headActivations } from "./heads.js";

export interface ActivationInfo {
  /** e.g. "layer.3.attn.probs" */
  readonly name: string;
  /** Symbolic shape, e.g. ["B", "H", "T", "T"]. */
  readonly shape: readonly string[];
  /** The Hugging Face module (or tensor inside a module's forward) it equals. */
  readonly hfPath: string;
  readonly description: string;
}

const PER_LAYER: [string, string[], string, string][] = [
  ["attn.q", ["B", "H", "T", "dh"], "attention.q_lin", "q_lin output split into heads (before the 1/√dh scaling)"],
  ["attn.k", ["B", "H", "T", "dh"], "attention.k_lin", "k_lin output split into heads"],
  ["attn.v", ["B", "H", "T", "dh"], "attention.v_lin", "v_lin output split into heads"],
  ["attn.scores", ["B", "H", "T", "T"], "attention (scores after masked_fill)", "q·kᵀ/√dh, masked keys set to finfo(float32).min, before softmax"],
  ["attn.probs", ["B", "H", "T", "T"], "attention (weights; output_attentions)", "softmax probabilities, after head_mask: what multiplies v"],
  ["attn.context", ["B", "T", "dim"], "attention.out_lin (input)", "probs·v with heads concatenated (head h = columns h·dh … (h+1)·dh-1)"],
  ["attn.out", ["B", "T", "dim"], "attention.out_lin", "attention output before the residual"],
  ["sa_ln.out", ["B", "T", "dim"], "sa_layer_norm", "sa_layer_norm(attn.out + x)"],
  ["ffn.pre", ["B", "T", "hidden"], "ffn.lin1", "lin1 output, before the activation"],
  ["ffn.act", ["B", "T", "hidden"], "ffn.activation", "after GELU/ReLU"],
  ["ffn.out", ["B", "T", "dim"], "ffn.lin2", "FFN output before the residual"],
  ["out", ["B", "T", "dim"], "output_layer_norm", "block output = hidden_states[i+1]"],
];

/** Every activation of a model of this config; with `head`, that head's own `head.*` names (sentence modules). */
export function activationTable(config: DistilBertConfig, head?: DistilBertHead): ActivationInfo[] {
  const t: ActivationInfo[] = [
    { name: "embeddings.word", shape: ["B", "T", "dim"], hfPath: "distilbert.embeddings.word_embeddings", description: "word embedding rows" },
    { name: "embeddings.position", shape: ["B", "T", "dim"], hfPath: "distilbert.embeddings.position_embeddings", description: "position embedding rows (positions 0..T-1)" },
    { name: "embeddings.out", shape: ["B", "T", "dim"], hfPath: "distilbert.embeddings", description: "LayerNorm(word + position) = hidden_states[0]" },
  ];
  for (let i = 0; i < config.nLayers; i++) {
    for (const [suffix, shape, hf, description] of PER_LAYER) {
      t.push({ name: `layer.${i}.${suffix}`, shape, hfPath: `distilbert.transformer.layer.${i}.${hf}`, description });
    }
  }
  for (const [name, shape, hfPath, description] of headActivations(config, head)) t.push({ name, shape, hfPath, description });
  return t;
}

/**
 * A hook sees an activation (a view on the live buffer) and may change it: mutate `t.data` in place, or return a
 * Tensor / Float32Array of the same size to replace it. What it leaves is what the rest of the model computes with.
 */
export type Hook = (t: Tensor, ctx: HookContext) => Tensor | Float32Array | void;

export interface HookContext {
  readonly name: string;
  /** The block index for `layer.{i}.*` names, else null. */
  readonly layer: number | null;
}

/**
 * `*` as a whole segment matches one dotted segment ("layer.*.attn.probs"); inside a segment it matches any run of
 * characters but a dot ("layer.1*.out" matches layer.1 and layer.10 to 19); `**` matches zero or more whole segments
 * ("layer.0.**" is every activation of block 0, "**.out" every `*.out`, "**" everything).
 */
export function compilePattern(pattern: string): RegExp {
  const segs = pattern.split(".");
  let re = "";
  segs.forEach((seg, i) => {
    const last = i === segs.length - 1;
    if (seg === "**") {
      // Zero or more segments, with the dot that joins them to the next one (or to the previous one at the end).
      re += last ? (i === 0 ? ".*" : "(?:\\.[^.]+)*") : "(?:[^.]+\\.)*";
      return;
    }
    const body = seg === "*" ? "[^.]+" : seg.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^.]*");
    // A trailing `**` brings its own leading dot; any other next segment needs this one.
    re += body + (last || (segs[i + 1] === "**" && i + 1 === segs.length - 1) ? "" : "\\.");
  });
  return new RegExp(`^${re}$`);
}

/** Names to suggest for a mistyped pattern: each name, and its per-layer form with "*" ("layer.*.attn.probs"). */
function suggestionNames(names: readonly string[]): string[] {
  return [...new Set([...names.map((n) => n.replace(/^layer\.\d+\./, "layer.*.")), ...names])];
}

/** The taps of one forward pass: user captures and hooks, plus internal collectors (hidden states, attentions). */
export class ForwardTaps implements Taps {
  readonly captured: Record<string, Tensor> = {};
  private readonly capture: RegExp[];
  private readonly hooks: [RegExp, Hook][];
  private readonly collectors = new Map<string, (t: Tensor) => void>();
  private readonly cache = new Map<string, boolean>();

  constructor(config: DistilBertConfig, capture: readonly string[], hooks: Record<string, Hook>, head?: DistilBertHead) {
    const names = activationTable(config, head).map((a) => a.name);
    const check = (pattern: string, what: string): RegExp => {
      const re = compilePattern(pattern);
      if (!names.some((n) => re.test(n))) {
        throw new InputError(what, `pattern ${JSON.stringify(pattern)} matches no activation of this model${didYouMean(pattern, suggestionNames(names), (n) => JSON.stringify(n))}`, `a name or pattern like "layer.*.attn.probs" (all names: activationTable(config), or \`distilbert-ts inspect --list\`)`);
      }
      return re;
    };
    this.capture = capture.map((p) => check(p, "capture"));
    this.hooks = Object.entries(hooks).map(([p, fn]) => {
      if (typeof fn !== "function") throw new InputError("hooks", `hook for ${JSON.stringify(p)} is not a function`);
      return [check(p, "hooks"), fn];
    });
  }

  /** Internal consumers (outputHiddenStates, outputAttentions) get a copy of each named activation. */
  collect(name: string, fn: (t: Tensor) => void): void {
    this.collectors.set(name, fn);
    this.cache.clear();
  }

  wants(name: string): boolean {
    let w = this.cache.get(name);
    if (w === undefined) {
      w = this.collectors.has(name) || this.capture.some((re) => re.test(name)) || this.hooks.some(([re]) => re.test(name));
      this.cache.set(name, w);
    }
    return w;
  }

  emit(name: string, data: Float32Array, shape: readonly number[]): void {
    if (!this.wants(name)) return;
    const view = new Tensor(data, shape);
    const m = /^layer\.(\d+)\./.exec(name);
    const ctx: HookContext = { name, layer: m ? Number(m[1]) : null };
    for (const [re, fn] of this.hooks) {
      if (!re.test(name)) continue;
      const r = fn(view, ctx);
      if (r === undefined) continue;
      const replacement = r instanceof Tensor ? r.data : r;
      if (!(replacement instanceof Float32Array) || replacement.length !== data.length) {
        throw new InputError(`hook for ${name}`, `returned ${replacement instanceof Float32Array ? `${replacement.length} values` : "something else"}`, `a Tensor or Float32Array of ${data.length} values, shape [${shape.join(", ")}]`);
      }
      if (replacement !== data) data.set(replacement);
    }
    if (this.capture.some((re) => re.test(name))) this.captured[name] = view.clone();
    this.collectors.get(name)?.(view.clone());
  }
}
