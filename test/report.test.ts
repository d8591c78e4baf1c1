/**
 * What the report computes (logit lens, occlusion, norms) checked against independent forward passes, and the
 * generated HTML checked for being self-contained (no URL, no eval) and safe with hostile token text.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { studyInput, type Study } from "../src/analysis/study.js";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { base64 } from "../src/report/html.js";
import { renderProbeReport } from "../src/report/probe-report.js";
import { renderStudyReport } from "../src/report/study-report.js";
import { runProbe } from "../src/analysis/probe.js";
import { loadTiny } from "./helpers/fixture.js";

const TEXT = "I loved this film, but the ending was weak.";

describe("study of one input (tiny model)", () => {
  let model: DistilBertClassifier;
  let study: Study;
  beforeAll(async () => {
    model = await loadTiny();
    study = studyInput(model, { text: TEXT });
  });

  it("prediction, tokens and attentions are the model's own", () => {
    const e = model.tokenizer.encode(TEXT);
    expect(study.tokens).toEqual(e.tokens);
    const out = model.forward([e.ids], undefined, { outputAttentions: true });
    expect(study.logits).toEqual(Array.from(out.logits.data));
    expect(study.label).toBe(model.config.labels[study.labelIndex]);
    const T = e.ids.length;
    const H = model.config.nHeads;
    study.attentions.forEach((heads, l) => heads.forEach((a, h) => expect(Array.from(a)).toEqual(Array.from(out.attentions![l].data.subarray(h * T * T, (h + 1) * T * T)))));
  });

  it("the logit lens's last row is the model's prediction, bit for bit; earlier rows apply the head to earlier [CLS] states", () => {
    const { nLayers: L } = model.config;
    expect(study.lens.length).toBe(L + 1);
    expect(study.lens[L].logits).toEqual(study.logits);
    // layer 0 of the lens: the head on embeddings.out[CLS], computed here by hand in float64
    const out = model.forward([study.ids], undefined, { capture: ["embeddings.out"] });
    const cls = Array.from(out.captured["embeddings.out"].data.subarray(0, model.config.dim));
    const head = model.model;
    if (head.architecture !== "DistilBertForSequenceClassification") throw new Error("a classifier was loaded");
    const pre = head.preClassifier.w;
    const cl = head.classifier.w;
    const relu = Array.from({ length: pre.dOut }, (_, o) => Math.max(0, cls.reduce((s, x, i) => s + x * pre.weight[o * pre.dIn + i], pre.bias![o])));
    const logits = Array.from({ length: cl.dOut }, (_, o) => relu.reduce((s, x, i) => s + x * cl.weight[o * cl.dIn + i], cl.bias![o]));
    logits.forEach((v, j) => expect(Math.abs(study.lens[0].logits[j] - v)).toBeLessThan(1e-4));
    for (const r of study.lens) expect(r.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it("occlusion: each row is P(label) of the sequence without that token; [CLS]/[SEP] are never removed", () => {
    const T = study.ids.length;
    expect(study.occlusion.map((o) => o.index)).toEqual(Array.from({ length: T - 2 }, (_, i) => i + 1));
    for (const o of study.occlusion) {
      const alone = model.forward([study.ids.filter((_, j) => j !== o.index)]);
      const p = alone.probs.data[study.labelIndex];
      expect(Math.abs(o.prob - p)).toBeLessThan(1e-6);
      expect(o.delta).toBeCloseTo(study.probs[study.labelIndex] - p, 6);
      expect(o.token).toBe(study.tokens[o.index]);
    }
  });

  it("a head mask reaches every part of the study", () => {
    const { nLayers: L, nHeads: H } = model.config;
    const mask = Array.from({ length: L }, () => new Array<number>(H).fill(1));
    mask[L - 1][0] = 0;
    const masked = studyInput(model, { text: TEXT }, { headMask: mask });
    expect(masked.attentions[L - 1][0].every((v) => v === 0)).toBe(true);
    expect(masked.logits).toEqual(Array.from(model.forward([study.ids], undefined, { headMask: mask }).logits.data));
    expect(masked.lens[L].logits).toEqual(masked.logits);
    const o = masked.occlusion[0];
    const alone = model.forward([study.ids.filter((_, j) => j !== o.index)], undefined, { headMask: mask });
    expect(Math.abs(o.prob - alone.probs.data[masked.labelIndex])).toBeLessThan(1e-6);
  });

  it("hidden-state norms are ‖hidden_states[l][t]‖₂", () => {
    const out = model.forward([study.ids], undefined, { outputHiddenStates: true });
    const dim = model.config.dim;
    out.hiddenStates!.forEach((hs, l) => {
      for (let t = 0; t < study.ids.length; t++) {
        let s = 0;
        for (let c = 0; c < dim; c++) s += hs.data[t * dim + c] ** 2;
        expect(study.hiddenNorms[l][t]).toBeCloseTo(Math.sqrt(s), 10);
      }
    });
  });

  it("past maxOcclusionRuns removable tokens, consecutive tokens are removed in groups", () => {
    const n = study.ids.length - 2;
    const g = studyInput(model, { text: TEXT }, { maxOcclusionRuns: 3 });
    const size = Math.ceil(n / 3);
    expect(g.occlusion.map((o) => o.count)).toEqual([size, size, n - 2 * size]);
    for (const o of g.occlusion) {
      const without = study.ids.filter((_, j) => j < o.index || j >= o.index + o.count);
      const p = model.forward([without]).probs.data[g.labelIndex];
      expect(Math.abs(o.prob - p)).toBeLessThan(1e-6);
      expect(o.token).toBe(study.tokens.slice(o.index, o.index + o.count).join(" "));
    }
    expect(renderStudyReport(g)).toContain(`removed ${size} at a time`);
  });

  it("batches occlusion runs by maxBatchTokens without changing a number", () => {
    const small = studyInput(model, { text: TEXT }, { maxBatchTokens: 15 });
    small.occlusion.forEach((o, i) => expect(Math.abs(o.prob - study.occlusion[i].prob)).toBeLessThan(1e-6));
  });

  it("the report page is self-contained: no URL, no external resource, no eval, a CSP that forbids both", () => {
    const html = renderStudyReport(study, { modelName: "tiny" });
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).not.toMatch(/\beval\s*\(|new\s+Function|setTimeout\s*\(\s*["'`]/);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"`);
    for (const id of ["summary", "attention", "cls", "norms", "lens", "occlusion"]) expect(html).toContain(`id="${id}"`);
    const probe = renderProbeReport(runProbe(model, "A film from {}.", ["France", "Chad"]));
    expect(probe).not.toMatch(/https?:\/\/|\b(src|href)\s*=|\beval\s*\(|new\s+Function/i);
  });

  it("token text cannot break out of the page (script end tags, quotes, ampersands are escaped)", () => {
    const evil = "</script><script>alert(1)</script> \"quote\" & <b>bold</b>";
    const s = studyInput(model, { ids: [101, 2023, 102], tokens: ["[CLS]", evil, "[SEP]"] });
    const html = renderStudyReport({ ...s, text: evil });
    // exactly one inline script and one data block: the hostile text opened none
    expect(html.match(/<script\b/g)!.length).toBe(2);
    expect(html.match(/<\/script>/g)!.length).toBe(2);
    expect(html).not.toContain("<b>bold</b>");
    expect(html).toContain("&lt;/script&gt;");
    const json = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html);
    expect(json).not.toBeNull();
    expect(JSON.parse(json![1]).tokens[1]).toBe(evil);
  });

  it("embeds attention as one byte per weight (square root of w / head max), decodable to within max·(q+¼)/255²", () => {
    const html = renderStudyReport(study);
    const data = JSON.parse(/id="report-data">([^<]*)</.exec(html)![1]) as { attn: { scale: number[]; b64: string } };
    const bytes = Uint8Array.from(atob(data.attn.b64), (c) => c.charCodeAt(0));
    const T = study.tokens.length;
    const { nLayers: L, nHeads: H } = study.config;
    expect(bytes.length).toBe(L * H * T * T);
    let worst = 0;
    for (let k = 0; k < L * H; k++) {
      const a = study.attentions[Math.floor(k / H)][k % H];
      const m = data.attn.scale[k];
      for (let i = 0; i < T * T; i++) {
        const q = bytes[k * T * T + i];
        const err = Math.abs((q / 255) ** 2 * m - a[i]);
        expect(err).toBeLessThanOrEqual((m * (q + 0.25)) / 65025 + 1e-9);
        worst = Math.max(worst, err);
      }
    }
    expect(worst).toBeGreaterThan(0); // it is a lossy encoding: the bound above is what is promised
  });

  it("each label has one colour: occlusion chips do not change when the report follows the other label", () => {
    const text = "I loved this film, but the ending was weak.";
    const chips = (label: string) => {
      const html = renderStudyReport(studyInput(model, { text }, { label }));
      return [...html.matchAll(/<span class="tok" style="background:(rgb\(\d+,\d+,\d+\))/g)].map((m) => m[1]);
    };
    const [neg, pos] = [chips("NEGATIVE"), chips("POSITIVE")];
    expect(neg.length).toBeGreaterThan(5);
    expect(pos).toEqual(neg);
    // And each chip is a tint of one label's colour (the one of that label's probability bar): white + t·(colour − white).
    const html = renderStudyReport(studyInput(model, { text }));
    const bars = [...html.matchAll(/class="fill" style="width:[\d.]+%;background:#([0-9a-f]{6})"/g)].map((m) => [1, 3, 5].map((i) => parseInt(m[1].slice(i - 1, i + 1), 16)));
    expect(bars).toHaveLength(model.config.labels.length);
    for (const c of neg) {
      const rgb = c.match(/\d+/g)!.map(Number);
      const fits = bars.some((bar) => {
        const t = (255 - rgb[0]) / (255 - bar[0]);
        return [1, 2].every((k) => Math.abs(255 + t * (bar[k] - 255) - rgb[k]) <= 1.01);
      });
      expect(fits, c).toBe(true);
    }
  });

  it("the hidden-state norm colours start at 0, and the note gives the range the norms span", () => {
    const html = renderStudyReport(study);
    const all = study.hiddenNorms.flat();
    const section = html.slice(html.indexOf('id="norms"'), html.indexOf('id="lens"'));
    expect(section).toContain(`Colour runs from 0 (white) to the largest norm on the table (${Math.max(...all).toFixed(2)}, dark); the norms here span ${Math.min(...all).toFixed(2)}–${Math.max(...all).toFixed(2)}.`);
    // The smallest norm is not painted white (it would be, on a min–max scale).
    expect(section).not.toMatch(/<td style="background:rgb\(255,255,255\)/);
  });
});

describe("base64", () => {
  it("matches Buffer's for every tail length", () => {
    for (let n = 0; n < 40; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 97 + n * 13) & 255);
      expect(base64(b)).toBe(Buffer.from(b).toString("base64"));
    }
  });
});
