/**
 * DistilBertModel, the encoder every head sits on (heads.ts), loaded by the checkpoint's own tensor names.
 */
import { InputError } from "../errors.js";
import { gatherFirstRows, type ForwardContext, type Span, type Taps } from "../layers/context.js";
import { Embeddings } from "../layers/embeddings.js";
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

  static load(src: WeightSource, prefix: string, config: DistilBertConfig, backend: Backend): DistilBertModel {
    const { dim, nHeads, hiddenDim, activation } = config;
    const embeddings = Embeddings.load(src, `${prefix}.embeddings`, config.vocabSize, config.maxPositionEmbeddings, dim);
    const layers = Array.from({ length: config.nLayers }, (_, i) =>
      TransformerBlock.load(src, `${prefix}.transformer.layer.${i}`, dim, nHeads, hiddenDim, activation, i, backend),
    );
    return new DistilBertModel(config, embeddings, layers);
  }

  /**
   * → the last hidden state: every row [N, dim] (rows "all"), or each span's first row only [S, dim] (rows "first",
   * what a sequence classifier reads): then the last layer computes just those rows (TransformerBlock.forwardFirstRows),
   * the same bits as "all" gives them. Taps always see whole layers, so with taps the last layer is computed whole
   * and its first rows gathered.
   */
  forward(ctx: ForwardContext, batch: PackedBatch, rows: EncoderRows = "all"): Float32Array {
    const { dim } = this.config;
    let h = this.embeddings.forward(ctx, batch.ids, batch.positions);
    const n = this.layers.length;
    const pruneLast = rows === "first" && ctx.taps === null && n > 0;
    for (let i = 0; i < (pruneLast ? n - 1 : n); i++) h = this.layers[i].forward(ctx, h);
    if (pruneLast) return this.layers[n - 1].forwardFirstRows(ctx, h);
    if (rows === "first") return gatherFirstRows(ctx.alloc(batch.spans.length * dim), h, batch.spans, dim);
    return h;
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
