/**
 * The heads on the DistilBERT encoder, one class per Hugging Face class, each loaded by the checkpoint's own tensor
 * names and each declaring (in `activations`) the `head.*` names it emits, next to where it emits them.
 *
 * A head's forward returns a plain [rows, width] Float32Array: one row per sequence (`output: "sequence"`) or one row
 * per packed token row (`output: "token"`).
 */
import { InputError } from "../errors.js";
import type { Span, Taps } from "../layers/context.js";
import { LayerNorm } from "../layers/layer-norm.js";
import { Linear } from "../layers/linear.js";
import { type ActivationInfo, type HookPoint, type HookPoints, hookNames, hookTable } from "../layers/hooks.js";
import type { WeightSource } from "../layers/weights.js";
import type { Backend } from "../tensor/backend.js";
import { dequantizeRows } from "../tensor/quant.js";
import type { Architecture, DistilBertConfig } from "./config.js";
import { DistilBertModel, type PackedBatch } from "./distilbert.js";
import { denseActivate, l2Normalize, pool, type SentenceModule } from "./sentence.js";

/** Where every head keeps its encoder, as Hugging Face names the module (and so its weights). */
export const ENCODER_PREFIX = "distilbert";

/** Where a head's own activations are named (`head.*`); their Hugging Face paths are relative to the whole model. */
const HEAD = "head";

export interface HeadForwardOptions {
  /**
   * Token heads: the packed rows to compute the head for (the fill-mask pipeline needs only the [MASK] rows; the
   * masked-LM head then projects just those onto the vocabulary). Default: every row.
   */
  select?: readonly number[];
  /**
   * Sequence classification: compute every row of the last layer instead of the [CLS] rows only (the only rows the
   * head reads; same logits bit for bit). For measuring what the shortcut saves.
   */
  fullLastLayer?: boolean;
}

interface HeadBase {
  readonly architecture: Architecture;
  readonly distilbert: DistilBertModel;
  readonly output: "sequence" | "token";
  /** Columns of the output. */
  readonly width: number;
  /** The `head.*` activations this head emits. */
  activations(): ActivationInfo[];
  forward(backend: Backend, batch: PackedBatch, taps: Taps | null, headMask: Float32Array | null, options?: HeadForwardOptions): Float32Array;
}

/** [B, T, ...rest] in the full layout (taps only run there: every span has the same length). */
function fullShape(batch: PackedBatch, ...rest: (number | string)[]): number[] {
  const B = batch.spans.length;
  return [B, B === 0 ? 0 : batch.spans[0].len, ...rest.map(Number)];
}

/** rows [R] of x [N, w] → [R, w] (a copy). */
function gatherRows(x: Float32Array, rows: readonly number[], w: number, N: number): Float32Array {
  const out = new Float32Array(rows.length * w);
  rows.forEach((r, i) => {
    if (!Number.isInteger(r) || r < 0 || r >= N) throw new InputError("select", `row ${String(r)} is not a packed row`, `0 ≤ row < ${N}`);
    out.set(x.subarray(r * w, (r + 1) * w), i * w);
  });
  return out;
}

export class DistilBertForSequenceClassification implements HeadBase {
  readonly architecture = "DistilBertForSequenceClassification";
  readonly output = "sequence";

  constructor(
    readonly config: DistilBertConfig,
    readonly distilbert: DistilBertModel,
    readonly preClassifier: Linear,
    readonly classifier: Linear,
  ) {}

  static load(src: WeightSource, config: DistilBertConfig, backend: Backend): DistilBertForSequenceClassification {
    return new DistilBertForSequenceClassification(
      config,
      DistilBertModel.load(src, ENCODER_PREFIX, config, backend),
      Linear.load(src, "pre_classifier", config.dim, config.dim, backend),
      Linear.load(src, "classifier", config.dim, config.labels.length, backend),
    );
  }

  get width(): number {
    return this.config.labels.length;
  }

  static readonly HOOKS = {
    pre_classifier: { shape: ["B", "dim"], hf: "pre_classifier", description: "pre_classifier(hidden[:, 0])" },
    relu: { shape: ["B", "dim"], hf: "ReLU in DistilBertForSequenceClassification.forward", description: "ReLU of the above" },
    logits: { shape: ["B", "labels"], hf: "classifier", description: "logits" },
  } as const satisfies HookPoints;

  readonly hooks = hookNames(DistilBertForSequenceClassification.HOOKS, HEAD);

  activations(): ActivationInfo[] {
    return hookTable(DistilBertForSequenceClassification.HOOKS, HEAD, "");
  }

  /**
   * → logits [B, labels], one row per span. Without taps the last layer computes the [CLS] rows only (keys and values
   * still for every token): for sequences of T tokens that skips (T-1)/T of the layer's q, out and FFN work, 5.9 M of
   * its 7.1 M multiply-adds per token, 13.9% of the model's FLOPs at DistilBERT's shape, for the same logits bit for bit.
   */
  forward(backend: Backend, batch: PackedBatch, taps: Taps | null, headMask: Float32Array | null, options: HeadForwardOptions = {}): Float32Array {
    const B = batch.spans.length;
    const { dim } = this.config;
    const pooled = this.distilbert.run(backend, batch, taps, headMask, options.fullLastLayer ? "all" : "first");
    const cls = options.fullLastLayer ? gatherRows(pooled, batch.spans.map((s) => s.start), dim, batch.ids.length) : pooled;
    const pre = this.preClassifier.forward(backend, cls, B);
    taps?.emit(this.hooks.pre_classifier, pre, [B, dim]);
    backend.activate(pre, pre.length, "relu");
    taps?.emit(this.hooks.relu, pre, [B, dim]);
    const logits = this.classifier.forward(backend, pre, B);
    taps?.emit(this.hooks.logits, logits, [B, this.width]);
    return logits;
  }
}

export class DistilBertForMaskedLM implements HeadBase {
  readonly architecture = "DistilBertForMaskedLM";
  readonly output = "token";

  constructor(
    readonly config: DistilBertConfig,
    readonly distilbert: DistilBertModel,
    readonly vocabTransform: Linear,
    readonly vocabLayerNorm: LayerNorm,
    /** vocab_projector's bias; its weight is the word embedding table (tied, as `tie_word_embeddings`), not a copy. */
    readonly projectorBias: Float32Array,
    /**
     * In q8 the projector is a q8 Linear on the word embeddings' own int8 rows and scales (a row of the table is an
     * output channel of the projector, so the embedding's per-row scales are the Linear's per-channel ones); null in
     * f32, where the projector multiplies by the float table.
     */
    readonly projectorQ8: Linear | null = null,
  ) {}

  static load(src: WeightSource, config: DistilBertConfig, backend: Backend): DistilBertForMaskedLM {
    const distilbert = DistilBertModel.load(src, ENCODER_PREFIX, config, backend);
    const bias = src.get("vocab_projector.bias", [config.vocabSize]);
    const table = distilbert.embeddings.wordEmbeddings;
    let projector: Linear | null = null;
    if (!(table instanceof Float32Array)) {
      projector = new Linear(backend.prepareLinearQ8 ? backend.prepareLinearQ8(table, bias) : backend.prepareLinear(dequantizeRows(table), bias, table.rows, table.cols));
    }
    return new DistilBertForMaskedLM(
      config,
      distilbert,
      Linear.load(src, "vocab_transform", config.dim, config.dim, backend),
      LayerNorm.load(src, "vocab_layer_norm", config.dim),
      bias,
      projector,
    );
  }

  get width(): number {
    return this.config.vocabSize;
  }

  static readonly HOOKS = {
    vocab_transform: { shape: ["B", "T", "dim"], hf: "vocab_transform", description: "vocab_transform(hidden)" },
    gelu: { shape: ["B", "T", "dim"], hf: "GELU in DistilBertForMaskedLM.forward", description: "the activation of the above" },
    vocab_layer_norm: { shape: ["B", "T", "dim"], hf: "vocab_layer_norm", description: "vocab_layer_norm of the above" },
    logits: { shape: ["B", "T", "vocab"], hf: "vocab_projector", description: "prediction logits (the word embeddings as weight)" },
  } as const satisfies HookPoints;

  readonly hooks = hookNames(DistilBertForMaskedLM.HOOKS, HEAD);

  activations(): ActivationInfo[] {
    return hookTable(DistilBertForMaskedLM.HOOKS, HEAD, "");
  }

  /** → logits [rows, vocab] for the selected packed rows (all by default). */
  forward(backend: Backend, batch: PackedBatch, taps: Taps | null, headMask: Float32Array | null, options: HeadForwardOptions = {}): Float32Array {
    const { dim } = this.config;
    const N = batch.ids.length;
    const hidden = this.distilbert.run(backend, batch, taps, headMask, "all");
    // With taps the head runs on every row (hooks see whole [B, T, ·] tensors); the selection is taken at the end.
    const select = taps === null ? options.select : undefined;
    const x = select === undefined ? hidden : gatherRows(hidden, select, dim, N);
    const logits = this.project(backend, x, x.length / dim, taps === null ? undefined : (name, t, w) => taps.emit(name, t, fullShape(batch, w)));
    return taps !== null && options.select !== undefined ? gatherRows(logits, options.select, this.width, N) : logits;
  }

  /**
   * The head on hidden rows x [R, dim] (any layer's: the logit lens reads each layer through it) → logits [R, vocab]:
   * vocab_transform → activation → vocab_layer_norm → vocab_projector. `x` is left as it was.
   */
  project(backend: Backend, x: Float32Array, R: number, emit?: (name: string, t: Float32Array, width: number) => void): Float32Array {
    const { dim } = this.config;
    let h: Float32Array;
    if (emit === undefined) {
      // The activation fused into vocab_transform's output loop: the same bits as apart in f32, and in q8 the
      // q8 scheme's own f32 GELU, which every backend computes alike (`activate` is erf.ts's in JS).
      h = this.vocabTransform.forward(backend, x, R, this.config.activation);
    } else {
      h = this.vocabTransform.forward(backend, x, R);
      emit(this.hooks.vocab_transform, h, dim);
      backend.activate(h, h.length, this.config.activation);
      emit(this.hooks.gelu, h, dim);
    }
    this.vocabLayerNorm.forward(backend, h, R);
    emit?.(this.hooks.vocab_layer_norm, h, dim);
    const V = this.config.vocabSize;
    const table = this.distilbert.embeddings.wordEmbeddings;
    let logits: Float32Array;
    if (this.projectorQ8 !== null || !(table instanceof Float32Array)) {
      logits = this.projectorQ8!.forward(backend, h, R);
    } else {
      logits = new Float32Array(R * V);
      backend.matmulTransB(logits, h, table, R, V, dim, 1);
      const bias = this.projectorBias;
      for (let r = 0; r < R; r++) for (let v = 0; v < V; v++) logits[r * V + v] += bias[v];
    }
    emit?.(this.hooks.logits, logits, V);
    return logits;
  }
}

/** A Linear on every token row: question answering (qa_outputs, 2 columns) and token classification (classifier). */
abstract class PerTokenLinear implements HeadBase {
  abstract readonly architecture: Architecture;
  readonly output = "token";

  constructor(
    readonly config: DistilBertConfig,
    readonly distilbert: DistilBertModel,
    readonly linear: Linear,
  ) {}

  get width(): number {
    return this.linear.dOut;
  }

  /** The one activation: the Linear's output. */
  protected abstract readonly logitsPoint: HookPoint;

  get hooks(): { readonly logits: string } {
    return hookNames({ logits: this.logitsPoint }, HEAD);
  }

  activations(): ActivationInfo[] {
    return hookTable({ logits: this.logitsPoint }, HEAD, "");
  }

  forward(backend: Backend, batch: PackedBatch, taps: Taps | null, headMask: Float32Array | null, options: HeadForwardOptions = {}): Float32Array {
    const { dim } = this.config;
    const N = batch.ids.length;
    const hidden = this.distilbert.run(backend, batch, taps, headMask, "all");
    const select = taps === null ? options.select : undefined;
    const x = select === undefined ? hidden : gatherRows(hidden, select, dim, N);
    const logits = this.linear.forward(backend, x, x.length / dim);
    taps?.emit(this.hooks.logits, logits, fullShape(batch, this.width));
    return taps !== null && options.select !== undefined ? gatherRows(logits, options.select, this.width, N) : logits;
  }
}

export class DistilBertForQuestionAnswering extends PerTokenLinear {
  readonly architecture = "DistilBertForQuestionAnswering";

  static load(src: WeightSource, config: DistilBertConfig, backend: Backend): DistilBertForQuestionAnswering {
    return new DistilBertForQuestionAnswering(config, DistilBertModel.load(src, ENCODER_PREFIX, config, backend), Linear.load(src, "qa_outputs", config.dim, 2, backend));
  }

  static readonly LOGITS: HookPoint = { shape: ["B", "T", "2"], hf: "qa_outputs", description: "start (column 0) and end (column 1) logits" };
  protected readonly logitsPoint = DistilBertForQuestionAnswering.LOGITS;
}

export class DistilBertForTokenClassification extends PerTokenLinear {
  readonly architecture = "DistilBertForTokenClassification";

  static load(src: WeightSource, config: DistilBertConfig, backend: Backend): DistilBertForTokenClassification {
    return new DistilBertForTokenClassification(config, DistilBertModel.load(src, ENCODER_PREFIX, config, backend), Linear.load(src, "classifier", config.dim, config.labels.length, backend));
  }

  static readonly LOGITS: HookPoint = { shape: ["B", "T", "labels"], hf: "classifier", description: "per-token logits" };
  protected readonly logitsPoint = DistilBertForTokenClassification.LOGITS;
}

/**
 * The bare encoder (DistilBertModel). Without sentence-transformers modules its output is the last hidden state,
 * (activations `head.{k}.pooling` / `.dense` / `.normalize`, k numbered as modules.json does, the Transformer being 0)
 * one row per token; with them (Pooling, Dense, Normalize from modules.json) one embedding per sequence.
 */
export class DistilBertEncoder implements HeadBase {
  readonly architecture = "DistilBertModel";

  constructor(
    readonly config: DistilBertConfig,
    readonly distilbert: DistilBertModel,
    readonly modules: readonly SentenceModule[],
  ) {}

  static load(src: WeightSource, config: DistilBertConfig, backend: Backend, modules: readonly SentenceModule[] = []): DistilBertEncoder {
    return new DistilBertEncoder(config, DistilBertModel.load(src, ENCODER_PREFIX, config, backend), modules);
  }

  get output(): "sequence" | "token" {
    return this.modules.length > 0 ? "sequence" : "token";
  }

  get width(): number {
    let w = this.config.dim;
    for (const m of this.modules) {
      if (m.type === "pooling") w *= m.modes.length;
      else if (m.type === "dense") w = m.linear.dOut;
    }
    return w;
  }

  /** Each module's one activation, `head.{k}.{type}` (k as modules.json numbers them), in order. */
  private points(): HookPoints {
    let w = "dim";
    return Object.fromEntries(this.modules.map((m, i): [string, HookPoint] => {
      const local = `${i + 1}.${m.type}`;
      if (m.type === "pooling") return [local, { shape: ["B", w], hf: "sentence-transformers Pooling", description: `${m.modes.join(" + ")} pooling of the last hidden state` }];
      if (m.type === "dense") {
        w = String(m.linear.dOut);
        return [local, { shape: ["B", w], hf: `sentence-transformers Dense (${m.path})`, description: `linear then ${m.activation}` }];
      }
      return [local, { shape: ["B", w], hf: "sentence-transformers Normalize", description: "divided by its L2 norm" }];
    }));
  }

  activations(): ActivationInfo[] {
    return hookTable(this.points(), HEAD, "");
  }

  forward(backend: Backend, batch: PackedBatch, taps: Taps | null, headMask: Float32Array | null, options: HeadForwardOptions = {}): Float32Array {
    const { dim } = this.config;
    const hidden = this.distilbert.run(backend, batch, taps, headMask, "all");
    if (this.modules.length === 0) return options.select === undefined ? hidden : gatherRows(hidden, options.select, dim, batch.ids.length);
    return this.sentence(backend, hidden, batch.spans, taps);
  }

  /**
   * The sentence-transformers modules on hidden rows [N, dim] laid out as `spans` (any layer's: the study's lens
   * reads each layer through them) → [spans, width]. `hidden` is left as it was.
   */
  sentence(backend: Backend, hidden: Float32Array, spans: readonly Span[], taps: Taps | null = null): Float32Array {
    const B = spans.length;
    const names = Object.values(hookNames(this.points(), HEAD));
    let x = hidden;
    let w = this.config.dim;
    this.modules.forEach((m, i) => {
      if (m.type === "pooling") {
        x = pool(x, spans, w, m.modes);
        w *= m.modes.length;
        taps?.emit(names[i], x, [B, w]);
      } else if (m.type === "dense") {
        x = m.linear.forward(backend, x, B);
        w = m.linear.dOut;
        denseActivate(x, m.activation);
        taps?.emit(names[i], x, [B, w]);
      } else {
        if (x === hidden) x = x.slice();
        l2Normalize(x, B, w);
        taps?.emit(names[i], x, [B, w]);
      }
    });
    return x;
  }
}

export type DistilBertHead =
  | DistilBertForSequenceClassification
  | DistilBertForMaskedLM
  | DistilBertForQuestionAnswering
  | DistilBertForTokenClassification
  | DistilBertEncoder;

/** The `head.*` activations of the head `config.architecture` names (a bare encoder: none without its modules). */
export function headActivations(config: DistilBertConfig, head?: DistilBertHead): ActivationInfo[] {
  if (head !== undefined) return head.activations();
  switch (config.architecture) {
    case "DistilBertForSequenceClassification":
      return hookTable(DistilBertForSequenceClassification.HOOKS, HEAD, "");
    case "DistilBertForMaskedLM":
      return hookTable(DistilBertForMaskedLM.HOOKS, HEAD, "");
    case "DistilBertForQuestionAnswering":
      return hookTable({ logits: DistilBertForQuestionAnswering.LOGITS }, HEAD, "");
    case "DistilBertForTokenClassification":
      return hookTable({ logits: DistilBertForTokenClassification.LOGITS }, HEAD, "");
    case "DistilBertModel":
      return [];
  }
}

/** The head `config.architecture` names, loaded from `src`. */
export function loadHead(src: WeightSource, config: DistilBertConfig, backend: Backend, modules: readonly SentenceModule[] = []): DistilBertHead {
  switch (config.architecture) {
    case "DistilBertForSequenceClassification":
      return DistilBertForSequenceClassification.load(src, config, backend);
    case "DistilBertForMaskedLM":
      return DistilBertForMaskedLM.load(src, config, backend);
    case "DistilBertForQuestionAnswering":
      return DistilBertForQuestionAnswering.load(src, config, backend);
    case "DistilBertForTokenClassification":
      return DistilBertForTokenClassification.load(src, config, backend);
    case "DistilBertModel":
      return DistilBertEncoder.load(src, config, backend, modules);
  }
}
