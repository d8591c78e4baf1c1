/**
 * inspect's text lines about the head's output, one form per head: a classifier's labels, a masked LM's words at
 * each [MASK], a token classifier's label per token, question answering's best span, an embedding's vector.
 */
import type { DistilBertClassifier, ForwardOutput } from "../../model/classifier.js";
import { softmax } from "../../model/classifier.js";
import { printable } from "../../printable.js";

const p = (s: string, n = 40) => printable(s, n);

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

export function headLines(model: DistilBertClassifier, ids: readonly number[], tokens: readonly string[], out: ForwardOutput): string[] {
  const head = model.model;
  const { config, tokenizer } = model;
  const T = ids.length;
  const W = head.width;
  const logits = out.logits.data;
  const probs = out.probs.data;
  const lines: string[] = [`head: ${head.architecture}`];
  switch (head.architecture) {
    case "DistilBertForSequenceClassification": {
      const best = argmax(probs);
      lines.push(`prediction: ${p(config.labels[best])} ${probs[best].toFixed(4)}`);
      for (let j = 0; j < config.labels.length; j++) lines.push(`  ${p(config.labels[j])}: logit ${logits[j].toFixed(6)}  p ${probs[j].toFixed(6)}`);
      break;
    }
    case "DistilBertForMaskedLM": {
      const masks = ids.flatMap((id, t) => (id === tokenizer.maskId ? [t] : []));
      if (masks.length === 0) lines.push("no [MASK] in the input: logits [T, vocab] for every token (use --json or --capture head.logits)");
      for (const at of masks) {
        const row = probs.subarray(at * W, (at + 1) * W);
        const order = Array.from({ length: W }, (_, i) => i).sort((a, b) => row[b] - row[a] || a - b).slice(0, 5);
        lines.push(`[MASK] at position ${at}: ${order.map((id) => `${p(tokenizer.idToToken(id) ?? String(id))} ${row[id].toFixed(4)}`).join(", ")}`);
      }
      break;
    }
    case "DistilBertForTokenClassification": {
      const w = Math.min(24, Math.max(5, ...tokens.map((t) => p(t, 24).length)));
      lines.push(`${"#".padStart(4)}  ${"token".padEnd(w)}  label (p)`);
      for (let t = 0; t < T; t++) {
        const j = argmax(probs.subarray(t * W, (t + 1) * W));
        lines.push(`${String(t).padStart(4)}  ${p(tokens[t], 24).padEnd(w)}  ${p(config.labels[j])} ${probs[t * W + j].toFixed(4)}`);
      }
      break;
    }
    case "DistilBertForQuestionAnswering": {
      // The span rule of the pipeline on this one window: softmax over the context's tokens, i ≤ j < i + 15.
      const seps = ids.flatMap((id, t) => (id === tokenizer.sepId ? [t] : []));
      const context = ids.map((_, t) => (seps.length >= 2 ? t > seps[0] && t < seps[seps.length - 1] : t > 0 && t < T - 1));
      const s = softmax(Array.from({ length: T }, (_, t) => (context[t] ? logits[2 * t] : -10000)));
      const e = softmax(Array.from({ length: T }, (_, t) => (context[t] ? logits[2 * t + 1] : -10000)));
      let best: [number, number, number] | null = null;
      for (let i = 0; i < T; i++) for (let j = i; j < Math.min(T, i + 15); j++) if (context[i] && context[j] && (best === null || s[i] * e[j] > best[2])) best = [i, j, s[i] * e[j]];
      if (best === null) lines.push("no context tokens: give the context with --context C (TEXT is the question)");
      else lines.push(`best span: tokens ${best[0]}–${best[1]} ${printable(JSON.stringify(tokens.slice(best[0], best[1] + 1).join(" ").replace(/ ##/g, "")), 200)}, P(start) ${s[best[0]].toFixed(4)} × P(end) ${e[best[1]].toFixed(4)} = ${best[2].toFixed(4)}`);
      break;
    }
    case "DistilBertModel": {
      const v = out.logits.shape.length === 2 ? logits : null;
      if (v === null) lines.push(`last hidden state [${T}, ${config.dim}] (no sentence-transformers modules; use --json for the values)`);
      else {
        let n = 0;
        for (const x of v) n += x * x;
        lines.push(`embedding [${v.length}], ‖e‖₂ ${Math.sqrt(n).toFixed(6)}: ${Array.from(v.subarray(0, 8), (x) => x.toFixed(6)).join(" ")}${v.length > 8 ? " …" : ""}`);
      }
      break;
    }
  }
  return lines;
}
