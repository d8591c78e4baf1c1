/**
 * Heads of the gradient pass. A head maps the encoder's last hidden state [T, dim] to its outputs and back; a new
 * head (token classification, question answering, ...) supplies only these two functions, and the encoder's
 * backward is shared.
 */
import type { DistilBertForSequenceClassification } from "../model/heads.js";
import { addInto, type Vec } from "./kernels.js";
import type { GradProbe } from "./encoder.js";
import type { GradOps } from "./ops.js";

export interface GradHead {
  /** Named activations the head shows (for `wrt` and objectives), with their shapes for T tokens. */
  activations(T: number): { name: string; shape: number[] }[];
  /** Size of the head's output vector (the objective's input): e.g. the labels. */
  readonly outputSize: number;
  /** hidden [T, dim] → outputs [outputSize], keeping what `backward` needs. */
  forward(ops: GradOps, hidden: Vec, T: number, probe: GradProbe | null): { outputs: Vec; saved: unknown };
  /** ∂L/∂outputs → ∂L/∂hidden [T, dim]. */
  backward(ops: GradOps, saved: unknown, dOutputs: Vec, T: number, probe: GradProbe | null): Vec;
}

interface ClsSaved {
  pre: Vec; // [dim] pre_classifier output, before ReLU
}

/** DistilBertForSequenceClassification's head: logits = classifier(relu(pre_classifier(hidden[0]))). */
export function sequenceClassificationHead(model: DistilBertForSequenceClassification): GradHead {
  const { preClassifier, classifier } = model;
  const dim = preClassifier.dIn;
  const L = classifier.dOut;
  return {
    outputSize: L,
    activations: () => [
      { name: "head.pre_classifier", shape: [dim] },
      { name: "head.relu", shape: [dim] },
      { name: "head.logits", shape: [L] },
    ],
    forward(ops, hidden, _T, probe) {
      const pre = ops.alloc(dim);
      ops.linear(pre, hidden.subarray(0, dim), preClassifier.w, 1);
      probe?.forward("head.pre_classifier", pre, [dim]);
      const relu = ops.alloc(dim);
      for (let i = 0; i < dim; i++) relu[i] = pre[i] > 0 ? pre[i] : 0;
      probe?.forward("head.relu", relu, [dim]);
      const logits = ops.alloc(L);
      ops.linear(logits, relu, classifier.w, 1);
      probe?.forward("head.logits", logits, [L]);
      return { outputs: logits, saved: { pre } satisfies ClsSaved };
    },
    backward(ops, saved, dLogits, T, probe) {
      const { pre } = saved as ClsSaved;
      probe?.backward("head.logits", dLogits, [L]);
      const d = ops.alloc(dim);
      ops.linearBackwardInput(d, dLogits, classifier.w, 1);
      probe?.backward("head.relu", d, [dim]);
      for (let i = 0; i < dim; i++) if (!(pre[i] > 0)) d[i] = 0;
      probe?.backward("head.pre_classifier", d, [dim]);
      const dHidden = ops.alloc(T * dim);
      const row = ops.alloc(dim);
      ops.linearBackwardInput(row, d, preClassifier.w, 1);
      addInto(dHidden, row, dim); // only the [CLS] row is read
      return dHidden;
    },
  };
}
