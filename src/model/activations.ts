/**
 * Every activation a forward pass can show, with a stable name (like TransformerLens's hook names), its shape and
 * the Hugging Face module it corresponds to. `B` is the batch, `T` the padded length, `H` heads, `dh` = dim / H.
 * Each module declares its own (its HOOKS, src/layers/hooks.ts) and emits them by those names; the table here is
 * the encoder's declarations composed by module path, then the head's.
 */
import { InputError } from "../errors.js";
import { didYouMean } from "../suggest.js";
import type { Taps } from "../layers/context.js";
import type { ActivationInfo } from "../layers/hooks.js";
import { Tensor } from "../tensor/tensor.js";
import type { DistilBertConfig } from "./config.js";
import { DistilBertModel } from "./distilbert.js";
import { type DistilBertHead, ENCODER_PREFIX, headActivations } from "./heads.js";

export type { ActivationInfo } from "../layers/hooks.js";

/** Every activation of a model of this config; with `head`, that head's own `head.*` names (sentence modules). */
export function activationTable(config: DistilBertConfig, head?: DistilBertHead): ActivationInfo[] {
  const t = DistilBertModel.activations(config, ENCODER_PREFIX);
  return [...t, ...headActivations(config, head)];
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
