/**
 * The encoder's forward (keeping what its backward needs) and backward, one sequence of T tokens at a time, reading
 * the weights of the loaded layers (src/layers). Names are the activation names of docs/activations.md, without the
 * batch axis: `layer.{i}.out` is [T, dim], `layer.{i}.attn.probs` [H, T, T].
 */
import type { Embeddings } from "../layers/embeddings.js";
import type { TransformerBlock } from "../layers/transformer-block.js";
import {
  activationBackward, activationForward, addInto, attentionHeadBackwardProbs, attentionHeadBackwardScores, attentionHeadForward,
  layerNormBackward, layerNormForward, mergeHeads, splitHeads, type Vec,
} from "./kernels.js";
import type { GradOps } from "./ops.js";

/**
 * Sees activations by name: `forward` with each value as it is computed (to evaluate an objective), `backward` with
 * ∂L/∂activation as it is reached (to read it, or to add a seed into it in place before the pass goes on).
 */
export interface GradProbe {
  forward(name: string, value: Vec, shape: readonly number[]): void;
  backward(name: string, grad: Vec, shape: readonly number[]): void;
}

/** What one block's backward needs from its forward. */
export interface BlockSaved {
  readonly T: number;
  readonly x: Vec; // [T, dim] the block's input
  readonly qh: Vec; // [H, T, dh]
  readonly kh: Vec;
  readonly vh: Vec;
  readonly probs: Vec; // [H, T, T]
  readonly s1: Vec; // [T, dim] attn.out + x, sa_layer_norm's input
  readonly stats1: Float64Array; // [2T]
  readonly h1: Vec; // [T, dim] sa_ln.out
  readonly pre: Vec; // [T, hidden] ffn.pre
  readonly s2: Vec; // [T, dim] ffn.out + h1, output_layer_norm's input
  readonly stats2: Float64Array;
}

export function savedBytes(s: BlockSaved): number {
  return [s.x, s.qh, s.kh, s.vh, s.probs, s.s1, s.stats1, s.h1, s.pre, s.s2, s.stats2].reduce((n, a) => n + a.byteLength, 0);
}

/** embeddings.out [T, dim] = LayerNorm(word[ids] + position[0..T-1]). ids were range-checked by the caller. */
export function embeddingsForward(ops: GradOps, emb: Embeddings, ids: readonly number[]): Vec {
  const { dim } = emb;
  const T = ids.length;
  const sum = ops.alloc(T * dim);
  const word = new Float32Array(dim); // a q8 table's row comes out as float32, as the forward reads it
  for (let t = 0; t < T; t++) {
    emb.wordRow(ids[t], word, 0);
    for (let c = 0; c < dim; c++) sum[t * dim + c] = word[c] + emb.positionEmbeddings[t * dim + c];
  }
  const out = ops.alloc(T * dim);
  const ln = emb.layerNorm;
  layerNormForward(out, new Float64Array(2 * T), sum, ln.weight, ln.bias, T, dim, ln.eps);
  return out;
}

/**
 * x [T, dim] → layer.{i}.out [T, dim], with what the backward needs. keyMask [T] (null = every key attendable) as
 * the attention mask of Hugging Face. No head mask: gradients are of the unmasked model.
 */
export function blockForward(ops: GradOps, block: TransformerBlock, x: Vec, T: number, keyMask: Uint8Array | null, probe: GradProbe | null): { out: Vec; saved: BlockSaved } {
  const { attention: attn, saLayerNorm: ln1, ffn, outputLayerNorm: ln2, layerIndex: li } = block;
  const H = attn.nHeads;
  const dh = attn.headDim;
  const dim = H * dh;
  const hidden = ffn.lin1.dOut;
  const name = `layer.${li}`;
  const q = ops.alloc(T * dim);
  const k = ops.alloc(T * dim);
  const v = ops.alloc(T * dim);
  ops.linear(q, x, attn.qLin.w, T);
  ops.linear(k, x, attn.kLin.w, T);
  ops.linear(v, x, attn.vLin.w, T);
  const qh = ops.alloc(T * dim);
  const kh = ops.alloc(T * dim);
  const vh = ops.alloc(T * dim);
  splitHeads(qh, q, T, H, dh);
  splitHeads(kh, k, T, H, dh);
  splitHeads(vh, v, T, H, dh);
  const probs = ops.alloc(H * T * T);
  const ch = ops.alloc(T * dim);
  const scale = 1 / Math.sqrt(dh);
  for (let h = 0; h < H; h++) {
    const hs = (a: Vec, n: number) => a.subarray(h * n, (h + 1) * n);
    attentionHeadForward(ops, hs(ch, T * dh), hs(probs, T * T), hs(qh, T * dh), hs(kh, T * dh), hs(vh, T * dh), T, dh, scale, keyMask);
  }
  probe?.forward(`${name}.attn.probs`, probs, [H, T, T]);
  const context = q; // q is dead once split
  mergeHeads(context, ch, T, H, dh);
  probe?.forward(`${name}.attn.context`, context, [T, dim]);
  const s1 = ops.alloc(T * dim);
  ops.linear(s1, context, attn.outLin.w, T);
  probe?.forward(`${name}.attn.out`, s1, [T, dim]);
  addInto(s1, x, T * dim);
  const stats1 = new Float64Array(2 * T);
  const h1 = ops.alloc(T * dim);
  layerNormForward(h1, stats1, s1, ln1.weight, ln1.bias, T, dim, ln1.eps);
  probe?.forward(`${name}.sa_ln.out`, h1, [T, dim]);
  const pre = ops.alloc(T * hidden);
  ops.linear(pre, h1, ffn.lin1.w, T);
  probe?.forward(`${name}.ffn.pre`, pre, [T, hidden]);
  const act = ops.alloc(T * hidden);
  activationForward(act, pre, T * hidden, ffn.activation);
  probe?.forward(`${name}.ffn.act`, act, [T, hidden]);
  const s2 = ops.alloc(T * dim);
  ops.linear(s2, act, ffn.lin2.w, T);
  probe?.forward(`${name}.ffn.out`, s2, [T, dim]);
  addInto(s2, h1, T * dim);
  const stats2 = new Float64Array(2 * T);
  const out = ops.alloc(T * dim);
  layerNormForward(out, stats2, s2, ln2.weight, ln2.bias, T, dim, ln2.eps);
  probe?.forward(`${name}.out`, out, [T, dim]);
  return { out, saved: { T, x, qh, kh, vh, probs, s1, stats1, h1, pre, s2, stats2 } };
}

/**
 * ∂L/∂layer.{i}.out [T, dim] → ∂L/∂x [T, dim] (the block's input). `dOut` is consumed (may be overwritten). The
 * probe sees each named gradient on the way down, `layer.{i}.out` first.
 */
export function blockBackward(ops: GradOps, block: TransformerBlock, s: BlockSaved, dOut: Vec, keyMask: Uint8Array | null, probe: GradProbe | null): Vec {
  const { attention: attn, saLayerNorm: ln1, ffn, outputLayerNorm: ln2, layerIndex: li } = block;
  const { T } = s;
  const H = attn.nHeads;
  const dh = attn.headDim;
  const dim = H * dh;
  const hidden = ffn.lin1.dOut;
  const name = `layer.${li}`;
  probe?.backward(`${name}.out`, dOut, [T, dim]);

  // out = LN2(ffn(h1) + h1): the sum's gradient goes both to the FFN output and, through the residual, to h1.
  const dh1 = ops.alloc(T * dim);
  layerNormBackward(dh1, dOut, s.s2, s.stats2, ln2.weight, T, dim);
  const df = dOut;
  df.set(dh1);
  probe?.backward(`${name}.ffn.out`, df, [T, dim]);
  const dAct = ops.alloc(T * hidden);
  ops.linearBackwardInput(dAct, df, ffn.lin2.w, T);
  probe?.backward(`${name}.ffn.act`, dAct, [T, hidden]);
  activationBackward(dAct, dAct, s.pre, T * hidden, ffn.activation);
  probe?.backward(`${name}.ffn.pre`, dAct, [T, hidden]);
  const tmp = ops.alloc(T * dim);
  ops.linearBackwardInput(tmp, dAct, ffn.lin1.w, T);
  addInto(dh1, tmp, T * dim);
  probe?.backward(`${name}.sa_ln.out`, dh1, [T, dim]);

  // h1 = LN1(attn(x) + x)
  const dx = ops.alloc(T * dim);
  layerNormBackward(dx, dh1, s.s1, s.stats1, ln1.weight, T, dim);
  const da = dh1;
  da.set(dx);
  probe?.backward(`${name}.attn.out`, da, [T, dim]);
  const dContext = tmp;
  ops.linearBackwardInput(dContext, da, attn.outLin.w, T);
  probe?.backward(`${name}.attn.context`, dContext, [T, dim]);
  const dch = ops.alloc(T * dim);
  splitHeads(dch, dContext, T, H, dh);
  const dProbs = ops.alloc(H * T * T);
  const dvh = ops.alloc(T * dim);
  const hs = (a: Vec, h: number, n: number) => a.subarray(h * n, (h + 1) * n);
  for (let h = 0; h < H; h++) {
    attentionHeadBackwardProbs(ops, hs(dProbs, h, T * T), hs(dvh, h, T * dh), hs(dch, h, T * dh), hs(s.probs, h, T * T), hs(s.vh, h, T * dh), T, dh);
  }
  probe?.backward(`${name}.attn.probs`, dProbs, [H, T, T]);
  const dqh = dch; // dch is dead once dProbs and dvh are known
  const dkh = ops.alloc(T * dim);
  const scale = 1 / Math.sqrt(dh);
  for (let h = 0; h < H; h++) {
    attentionHeadBackwardScores(ops, hs(dqh, h, T * dh), hs(dkh, h, T * dh), hs(dProbs, h, T * T), hs(s.probs, h, T * T), hs(s.qh, h, T * dh), hs(s.kh, h, T * dh), T, dh, scale, keyMask);
  }
  // x feeds q, k and v: their input gradients add up, on top of the residual's.
  const merged = dContext;
  const part = ops.alloc(T * dim);
  for (const [g, lin] of [[dqh, attn.qLin], [dkh, attn.kLin], [dvh, attn.vLin]] as const) {
    mergeHeads(merged, g, T, H, dh);
    ops.linearBackwardInput(part, merged, lin.w, T);
    addInto(dx, part, T * dim);
  }
  return dx;
}
