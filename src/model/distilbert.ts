/**
 * DistilBertModel and DistilBertForSequenceClassification, one class per Hugging Face module, each loaded by the
 * checkpoint's own tensor names.
 */
import { InputError } from "../errors.js";
import { gatherFirstRows, type ForwardContext, type Span, type Taps } from "../layers/context.js";
import { Embeddings } from "../layers/embeddings.js";
import { Linear } from "../layers/linear.js";
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

  /** → last hidden state [N, dim] */
  forward(ctx: ForwardContext, batch: PackedBatch): Float32Array {
    let h = this.embeddings.forward(ctx, batch.ids, batch.positions);
    for (const layer of this.layers) h = layer.forward(ctx, h);
    return h;
  }

  /**
   * → the last hidden state of each span's first row ([CLS]) only, [S, dim]: the last layer computes just those
   * rows (TransformerBlock.forwardFirstRows), the same bits as forward() gives them. No taps.
   */
  forwardFirstRows(ctx: ForwardContext, batch: PackedBatch): Float32Array {
    const { dim } = this.config;
    let h = this.embeddings.forward(ctx, batch.ids, batch.positions);
    const n = this.layers.length;
    for (let i = 0; i < n - 1; i++) h = this.layers[i].forward(ctx, h);
    if (n > 0) return this.layers[n - 1].forwardFirstRows(ctx, h);
    return gatherFirstRows(ctx.alloc(batch.spans.length * dim), h, batch.spans, dim);
  }
}

export class DistilBertForSequenceClassification {
  /**
   * Without taps, compute the last layer for the [CLS] rows only, the only ones the head reads (keys and values still
   * for every token): for sequences of T tokens that skips (T-1)/T of the layer's q, out and FFN work, 5.9 M of its
   * 7.1 M multiply-adds per token, 13.9% of the model's FLOPs at DistilBERT's shape, for the same logits bit for bit.
   * False computes every row (to measure the difference; nothing else changes).
   */
  lastLayerFirstRowsOnly = true;

  constructor(
    readonly config: DistilBertConfig,
    readonly distilbert: DistilBertModel,
    readonly preClassifier: Linear,
    readonly classifier: Linear,
  ) {}

  static load(src: WeightSource, config: DistilBertConfig, backend: Backend): DistilBertForSequenceClassification {
    return new DistilBertForSequenceClassification(
      config,
      DistilBertModel.load(src, "distilbert", config, backend),
      Linear.load(src, "pre_classifier", config.dim, config.dim, backend),
      Linear.load(src, "classifier", config.dim, config.labels.length, backend),
    );
  }

  /** → logits [B, labels], one row per span. */
  forward(backend: Backend, batch: PackedBatch, taps: Taps | null, headMask: Float32Array | null): Float32Array {
    checkBatch(this.config, batch);
    // Taps may keep what they see, so only the fast path takes its buffers from the backend's pass workspace.
    const ws = taps === null ? (backend.workspace?.() ?? null) : null;
    const buffers: Pick<ForwardContext, "alloc" | "mark" | "release"> = ws === null
      ? { alloc: (n) => new Float32Array(n), mark: () => 0, release: () => undefined }
      : { alloc: (n) => ws.alloc(n), mark: () => ws.mark(), release: (m) => ws.release(m) };
    const ctx: ForwardContext = { backend, spans: batch.spans, rows: batch.ids.length, taps, headMask, ...buffers };
    const { dim } = this.config;
    const B = batch.spans.length;
    const pooled = new Float32Array(B * dim);
    try {
      if (taps === null && this.lastLayerFirstRowsOnly) pooled.set(this.distilbert.forwardFirstRows(ctx, batch));
      else gatherFirstRows(pooled, this.distilbert.forward(ctx, batch), batch.spans, dim);
    } finally {
      ws?.end();
    }
    const pre = this.preClassifier.forward(backend, pooled, B);
    taps?.emit("head.pre_classifier", pre, [B, dim]);
    backend.activate(pre, pre.length, "relu");
    taps?.emit("head.relu", pre, [B, dim]);
    const logits = this.classifier.forward(backend, pre, B);
    taps?.emit("head.logits", logits, [B, this.config.labels.length]);
    return logits;
  }
}

/** The one place ids and positions are range-checked, so that the layers can index tables without checks. */
function checkBatch(config: DistilBertConfig, batch: PackedBatch): void {
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
