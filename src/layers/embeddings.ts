import type { ForwardContext } from "./context.js";
import { batchShape } from "./context.js";
import { LayerNorm } from "./layer-norm.js";
import type { Q8Rows } from "../tensor/quant.js";
import type { WeightSource } from "./weights.js";

/**
 * DistilBERT's Embeddings: word + learned position, then LayerNorm (no token types). Positions are the token's
 * index in its row, 0..T-1 whatever the attention mask says: Hugging Face does not shift them for padding.
 */
export class Embeddings {
  constructor(
    /** [vocab, dim]: float32, or q8 rows (a row is then f32(q · scale), element by element, when looked up). */
    readonly wordEmbeddings: Float32Array | Q8Rows,
    readonly positionEmbeddings: Float32Array, // [max_positions, dim]
    readonly layerNorm: LayerNorm,
    readonly dim: number,
  ) {}

  static load(src: WeightSource, prefix: string, vocabSize: number, maxPositions: number, dim: number): Embeddings {
    const word = `${prefix}.word_embeddings.weight`;
    return new Embeddings(
      src.getQ8?.(word, [vocabSize, dim]) ?? src.get(word, [vocabSize, dim]),
      src.get(`${prefix}.position_embeddings.weight`, [maxPositions, dim]),
      LayerNorm.load(src, `${prefix}.LayerNorm`, dim),
      dim,
    );
  }

  /** dst [at, at + dim) ← the word embedding of `id` (as float32). */
  wordRow(id: number, dst: Float32Array, at: number): void {
    const w = this.wordEmbeddings;
    const dim = this.dim;
    if (w instanceof Float32Array) {
      dst.set(w.subarray(id * dim, (id + 1) * dim), at);
      return;
    }
    const s = w.scales[id];
    for (let c = 0, o = id * dim; c < dim; c++) dst[at + c] = w.q[o + c] * s;
  }

  /** ids [N], positions [N] → [N, dim]. Ids and positions were range-checked by the model. */
  forward(ctx: ForwardContext, ids: Int32Array, positions: Int32Array): Float32Array {
    const { dim } = this;
    const N = ids.length;
    const out = ctx.alloc(N * dim);
    const taps = ctx.taps;
    if (taps !== null && (taps.wants("embeddings.word") || taps.wants("embeddings.position"))) {
      // Only here are the two lookups kept apart, so a hook can see or change each before they are summed.
      const word = new Float32Array(N * dim);
      const pos = new Float32Array(N * dim);
      for (let r = 0; r < N; r++) {
        this.wordRow(ids[r], word, r * dim);
        pos.set(this.positionEmbeddings.subarray(positions[r] * dim, (positions[r] + 1) * dim), r * dim);
      }
      taps.emit("embeddings.word", word, batchShape(ctx, dim));
      taps.emit("embeddings.position", pos, batchShape(ctx, dim));
      for (let i = 0; i < N * dim; i++) out[i] = word[i] + pos[i];
    } else if (!(this.wordEmbeddings instanceof Float32Array)) {
      for (let r = 0; r < N; r++) {
        this.wordRow(ids[r], out, r * dim);
        const p = positions[r] * dim;
        const o = r * dim;
        for (let c = 0; c < dim; c++) out[o + c] += this.positionEmbeddings[p + c];
      }
    } else {
      for (let r = 0; r < N; r++) {
        const w = ids[r] * dim;
        const p = positions[r] * dim;
        const o = r * dim;
        for (let c = 0; c < dim; c++) out[o + c] = this.wordEmbeddings[w + c] + this.positionEmbeddings[p + c];
      }
    }
    this.layerNorm.forward(ctx.backend, out, N);
    taps?.emit("embeddings.out", out, batchShape(ctx, dim));
    return out;
  }
}
