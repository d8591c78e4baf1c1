/**
 * DistilBertModel, the encoder every head sits on (heads.ts), loaded by the checkpoint's own tensor names.
 */
import { InputError } from "../errors.js";
import { gatherFirstRows, type ForwardContext, type Span, type Taps } from "../layers/context.js";
import { Embeddings } from "../layers/embeddings.js";
import { type ActivationInfo, joinPath } from "../layers/hooks.js";
import { TransformerBlock } from "../layers/transformer-block.js";
import type { WeightSource } from "../layers/weights.js";
import type { Backend } from "../tensor/backend.js";
import type { DistilBertConfig } from "./config.js";

/**
 * Token rows of several sequences packed end to end, with no padding. Each span's first row must be its position 0:
 * the classification head reads it.
 */
export interface PackedBatch {
  /** [N] token ids */
  readonly ids: Int32Array;
  /** [N] position of each row inside its own sequence */
  readonly positions: Int32Array;
  readonly spans: readonly Span[];
}

export class DistilBertModel {
  constructor(
    readonly config: DistilBertConfig,
    readonly embeddings: Embeddings,
    readonly layers: readonly TransformerBlock[],
  ) {}

  /** Its submodules' activation names, and their Hugging Face modules relative to the encoder's. */
  static readonly EMBEDDINGS = ["embeddings", "embeddings"] as const;
  static layer(i: number): readonly [string, string] {
    return [`layer.${i}`, `transformer.layer.${i}`];
  }

  /** Weights under the Hugging Face module path `prefix` ("distilbert" in every head). */
  static load(src: WeightSource, prefix: string, config: DistilBertConfig, backend: Backend): DistilBertModel {
    const { dim, nHeads, hiddenDim, activation } = config;
    const [embName, embHf] = DistilBertModel.EMBEDDINGS;
    const embeddings = Embeddings.load(src, joinPath(prefix, embHf), embName, config.vocabSize, config.maxPositionEmbeddings, dim);
    const layers = Array.from({ length: config.nLayers }, (_, i) => {
      const [name, hf] = DistilBertModel.layer(i);
      return TransformerBlock.load(src, joinPath(prefix, hf), name, dim, nHeads, hiddenDim, activation, i, backend);
    });
    return new DistilBertModel(config, embeddings, layers);
  }

  /** Every activation of an encoder of this config at the Hugging Face path `prefix`, in the order emitted. */
  static activations(config: DistilBertConfig, prefix: string): ActivationInfo[] {
    const [embName, embHf] = DistilBertModel.EMBEDDINGS;
    const t = Embeddings.activations(embName, joinPath(prefix, embHf));
    for (let i = 0; i < config.nLayers; i++) {
      const [name, hf] = DistilBertModel.layer(i);
      t.push(...TransformerBlock.activations(name, joinPath(prefix, hf)));
    }
    return t;
  }

  /**
   * → the last hidden state: every row [N, dim] (rows "all"), or each span's first row only [S, dim] (rows "first",
   * what a sequence classifier reads): then the last layer computes just those rows (its queries, gathered before
   * q_lin), the same bits as "all" gives them. Taps always see whole layers, so with taps the last layer is computed
   * whole and its first rows gathered.
   */
  forward(ctx: ForwardContext, batch: PackedBatch, rows: EncoderRows = "all"): Float32Array {
    const { dim } = this.config;
    const { spans } = batch;
    let h = this.embeddings.forward(ctx, batch.ids, batch.positions);
    const n = this.layers.length;
    const pruneLast = rows === "first" && ctx.taps === null && n > 0;
    const whole = pruneLast ? n - 1 : n;
    // Without taps (which may keep what they see) the layers write into two buffers in turn, not one each.
    let spare = ctx.taps === null && whole > 1 ? ctx.alloc(h.length) : undefined;
    for (let i = 0; i < whole; i++) {
      const out = this.layers[i].forward(ctx, h, undefined, spare);
      if (spare !== undefined) spare = h;
      h = out;
    }
    if (rows === "all") return h;
    const first = gatherFirstRows(ctx.alloc(spans.length * dim), h, spans, dim);
    if (!pruneLast) return first;
    return this.layers[n - 1].forward(ctx, h, { x: first, rows: spans.map((_, b) => ({ start: b, len: 1 })) });
  }

  /**
   * One forward pass with its buffers: without taps they come from the backend's pass workspace, and the result is
   * copied out before the workspace is released (taps may keep what they see, so they get plain arrays).
   */
  run(backend: Backend, batch: PackedBatch, taps: Taps | null, headMask: Float32Array | null, rows: EncoderRows = "all"): Float32Array {
    checkBatch(this.config, batch);
    const ws = taps === null ? (backend.workspace?.() ?? null) : null;
    const buffers: Pick<ForwardContext, "alloc" | "mark" | "release"> = ws === null
      ? { alloc: (n) => new Float32Array(n), mark: () => 0, release: () => undefined }
      : { alloc: (n) => ws.alloc(n), mark: () => ws.mark(), release: (m) => ws.release(m) };
    const ctx: ForwardContext = { backend, spans: batch.spans, rows: batch.ids.length, taps, headMask, ...buffers };
    try {
      const h = this.forward(ctx, batch, rows);
      return ws === null ? h : h.slice();
    } finally {
      ws?.end();
    }
  }
}

/** Which rows of the last hidden state a head reads: all of them, or each sequence's first ([CLS]). */
export type EncoderRows = "all" | "first";

/** The one place ids and positions are range-checked, so that the layers can index tables without checks. */
export function checkBatch(config: DistilBertConfig, batch: PackedBatch): void {
  const { ids, positions, spans } = batch;
  if (positions.length !== ids.length) throw new InputError("batch", `${positions.length} positions for ${ids.length} ids`);
  let next = 0;
  for (const s of spans) {
    if (s.start !== next || s.len < 1 || (s.keyMask !== null && s.keyMask.length !== s.len)) {
      throw new InputError("batch", `span at ${s.start} (length ${s.len}) does not follow the previous one at ${next}`);
    }
    next += s.len;
  }
  if (next !== ids.length) throw new InputError("batch", `spans cover ${next} rows of ${ids.length}`);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(id >= 0 && id < config.vocabSize)) {
      throw new InputError("input_ids", `id ${id} at row ${i} is out of range`, `0 ≤ id < vocab_size (${config.vocabSize})`);
    }
    const p = positions[i];
    if (!(p >= 0 && p < config.maxPositionEmbeddings)) {
      throw new InputError("input_ids", `position ${p} is past the model's maximum`, `sequences of at most max_position_embeddings (${config.maxPositionEmbeddings}) tokens`);
    }
  }
}
