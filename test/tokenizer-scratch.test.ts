import { readFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";
import { it } from "vitest";
import { WordPieceTokenizer } from "../src/tokenizer/index.js";
const jsonText = readFileSync("/work/shared/data/tokenizer.json", "utf8");
const json = JSON.parse(jsonText);
const rows = readFileSync("/work/shared/data/sst2-dev.tokens.jsonl", "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l).text as string);
function time(label: string, f: () => number, reps: number) {
  f(); f();
  const t0 = performance.now(); let toks = 0;
  for (let r = 0; r < reps; r++) toks += f();
  const ms = performance.now() - t0;
  const sents = rows.length * reps;
  console.log(`${label}: ${(sents / ms * 1000).toFixed(0)} sentences/s, ${(toks / ms * 1000 / 1e6).toFixed(2)} M tokens/s (${ms.toFixed(0)} ms)`);
  return sents / ms;
}
it("bench", () => {
  let t0 = performance.now();
  const peer = new Tokenizer(json, {});
  console.log("peer load ms", (performance.now() - t0).toFixed(1));
  t0 = performance.now();
  const ours = WordPieceTokenizer.fromTokenizerJson(jsonText);
  console.log("ours load (json text) ms", (performance.now() - t0).toFixed(1));
  t0 = performance.now();
  WordPieceTokenizer.fromVocab(readFileSync("/work/shared/data/bert-base-uncased-vocab.txt", "utf8"));
  console.log("ours load (vocab.txt) ms", (performance.now() - t0).toFixed(1));
  const reps = 20;
  for (let round = 0; round < 2; round++) {
    const p = time("peer encode", () => { let n = 0; for (const t of rows) n += peer.encode(t).ids.length; return n; }, reps);
    const o = time("ours encode", () => { let n = 0; for (const t of rows) n += ours.encode(t).ids.length; return n; }, reps);
    const o2 = time("ours tokenizeToIds", () => { let n = 0; for (const t of rows) n += ours.tokenizeToIds(t).ids.length; return n; }, reps);
    console.log("ratio encode", (o / p).toFixed(2), "tokenizeToIds", (o2 / p).toFixed(2));
  }
  // Fresh words: each sentence has its words shuffled and cased differently so nothing can be cached.
  const big = rows.join(" ");
  t0 = performance.now(); const n1 = peer.encode(big).ids.length; const pm = performance.now() - t0;
  t0 = performance.now(); const n2 = ours.encode(big, { maxLength: Infinity }).ids.length; const om = performance.now() - t0;
  console.log("one 95KB string: peer", pm.toFixed(1), "ms; ours", om.toFixed(1), "ms", n1, n2);
});
