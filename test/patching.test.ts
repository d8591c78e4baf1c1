/**
 * Activation patching on the tiny fixture: what must hold exactly. The head reads only the last layer's [CLS] row,
 * so patching that row restores the clean metric and patching any other row of the last layer changes nothing;
 * patching a position whose token is the same in both inputs at the embeddings changes nothing; the batched grid
 * equals one patched run at a time (batching is bit for bit).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { activationPatching } from "../src/analysis/patching.js";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { loadTiny } from "./helpers/fixture.js";
import { patchTexts } from "./helpers/patch-texts.js";

let model: DistilBertClassifier;
let CLEAN: { text: string };
let CORRUPTED: { text: string };
beforeAll(async () => {
  model = await loadTiny();
  const p = patchTexts(model.tokenizer);
  CLEAN = { text: p.clean };
  CORRUPTED = { text: p.corrupted };
});

describe("activation patching", () => {
  it("by position: exact where the model's structure says so", () => {
    const r = activationPatching(model, CLEAN, CORRUPTED);
    const T = r.cleanTokens.length;
    const last = r.grid[r.grid.length - 1];
    expect(last[0]).toBe(r.clean);
    for (let t = 1; t < T; t++) expect(last[t]).toBe(r.corrupted);
    const same = r.cleanTokens.map((tok, i) => tok === r.corruptedTokens[i]);
    for (let t = 0; t < T; t++) if (same[t]) expect(r.grid[0][t], `embeddings.out @ ${t}`).toBe(r.corrupted);
    expect(same.some((s) => !s)).toBe(true);
    expect(r.normalized[r.grid.length - 1][0]).toBe(1);
  });

  it("by head: each cell equals that head patched alone", () => {
    const r = activationPatching(model, CLEAN, CORRUPTED, { by: "head" });
    const { nHeads: H, dim, labels } = model.config;
    const dh = dim / H;
    const enc = (t: string) => model.tokenizer.encode(t).ids;
    const clean = model.forward([enc(CLEAN.text)], undefined, { capture: ["layer.*.attn.context"] });
    const T = enc(CLEAN.text).length;
    const ti = labels.indexOf(r.target);
    const oi = labels.indexOf(r.other);
    for (let l = 0; l < r.rows.length; l++) {
      for (let h = 0; h < H; h++) {
        const src = clean.captured[`layer.${l}.attn.context`].data;
        const out = model.forward([enc(CORRUPTED.text)], undefined, {
          hooks: { [`layer.${l}.attn.context`]: (t) => { for (let p = 0; p < T; p++) for (let j = h * dh; j < (h + 1) * dh; j++) t.data[p * dim + j] = src[p * dim + j]; } },
        });
        expect(r.grid[l][h], `layer ${l} head ${h}`).toBe(out.logits.data[ti] - out.logits.data[oi]);
      }
    }
  });

  it("the same input twice: every cell is the clean metric", () => {
    const r = activationPatching(model, CLEAN, CLEAN, { by: "head" });
    for (const row of r.grid) for (const v of row) expect(v).toBe(r.clean);
  });
});
