/**
 * Texts longer than the model's maximum (64 tokens for the fixture): truncation by default, flagged; `long: "window"`
 * reads windows of maxLength-2 word pieces framed with [CLS] … [SEP] and averages their logits. The expected windows
 * and logits are built here from tokenizeToIds and model.forward, independently of classifyWindows.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { runCli } from "./helpers/cli.js";
import { loadTiny, tinyDir } from "./helpers/fixture.js";
import { rng } from "./helpers/random.js";

const WORDS = ["good", "bad", "film", "great", "awful", "plot", "acting", "was", "not", "very", "boring", "fun", "unbelievably", "screenplay"];

let model: DistilBertClassifier;
beforeAll(async () => {
  model = await loadTiny();
});

function text(words: number, seed: number): string {
  const r = rng(seed);
  return Array.from({ length: words }, () => WORDS[Math.floor(r() * WORDS.length)]).join(" ");
}

/** Window starts 0, s, 2s, … until a window reaches the end; the mean of each window's forward logits. */
function expectedWindows(t: string, stride: number): { count: number; logits: number[] } {
  const ids = model.tokenizer.tokenizeToIds(t).ids;
  const width = model.maxLength - 2;
  const windows: number[][] = [];
  let start = 0;
  for (;;) {
    windows.push([model.tokenizer.clsId, ...ids.slice(start, start + width), model.tokenizer.sepId]);
    if (start + width >= ids.length) break;
    start += stride;
  }
  const L = model.config.labels.length;
  const sum = new Array<number>(L).fill(0);
  for (const w of windows) {
    const l = model.forward([w]).logits.data;
    for (let j = 0; j < L; j++) sum[j] += l[j];
  }
  return { count: windows.length, logits: sum.map((v) => v / windows.length) };
}

describe("long texts", () => {
  it("default: cut at the model's maximum and flagged", async () => {
    const t = text(150, 1);
    const pieces = model.tokenizer.tokenizeToIds(t).ids.length;
    expect(pieces).toBeGreaterThan(model.maxLength);
    const c = await model.classify(t);
    expect(c.truncated).toBe(true);
    expect(c.tokens).toHaveLength(model.maxLength);
    expect(c.windows).toBeUndefined();
  });

  it("window: as many windows as the stride gives, logits = mean of the windows' forward logits", async () => {
    const t = text(150, 2);
    const n = model.tokenizer.tokenizeToIds(t).ids.length;
    for (const stride of [31, 62, 10]) {
      const want = expectedWindows(t, stride);
      expect(want.count).toBe(Math.max(1, Math.ceil((n - 62) / stride) + 1));
      const c = await model.classify(t, { long: "window", stride });
      expect(c.windows).toBe(want.count);
      expect(c.truncated).toBe(false);
      expect(c.tokens).toHaveLength(n + 2);
      c.logits.forEach((v, j) => expect(Math.abs(v - want.logits[j])).toBeLessThanOrEqual(1e-6));
      const best = want.logits.indexOf(Math.max(...want.logits));
      expect(c.label).toBe(model.config.labels[best]);
    }
    // Default stride: half a window.
    expect((await model.classify(t, { long: "window" })).windows).toBe(expectedWindows(t, 31).count);
  });

  it("a text that fits is one window, with exactly the truncate-mode result", async () => {
    for (const t of ["a short one", "", text(40, 3)]) {
      const plain = await model.classify(t);
      const win = await model.classify(t, { long: "window" });
      expect(win).toEqual({ ...plain, windows: 1 });
    }
  });

  it("batched windows give the same results as one text at a time", async () => {
    const ts = [text(150, 4), "short", text(300, 5), text(61, 6), text(62, 7)];
    const batch = model.classifySync(ts, { long: "window", stride: 20 });
    ts.forEach((t, i) => expect(batch[i]).toEqual(model.classifySync([t], { long: "window", stride: 20 })[0]));
  });

  it("bad options are refused", async () => {
    await expect(model.classify("x", { long: "window", stride: 0 })).rejects.toThrow(/^classify: stride: is the number 0; expected an integer from 1 to 62/);
    await expect(model.classify("x", { long: "window", stride: 63 })).rejects.toThrow(/stride: is the number 63/);
    await expect(model.classify("x", { long: "sideways" as "window" })).rejects.toThrow(/^classify: long: is the string "sideways"/);
  });

  it("CLI: --long window adds windows to the output; the default flags truncation in every output", () => {
    const t = text(150, 8);
    const def = runCli(["classify", "--model", tinyDir(), t]);
    expect(def.stdout).toMatch(/^(POSITIVE|NEGATIVE) [01]\.\d{4} \(truncated\)  /);
    const win = runCli(["classify", "--model", tinyDir(), "--long", "window", "--stride", "31", "--json", t]);
    expect(win.code).toBe(0);
    const obj = JSON.parse(win.stdout);
    expect(obj.windows).toBe(expectedWindows(t, 31).count);
    expect(obj.truncated).toBe(false);
    const plain = runCli(["classify", "--model", tinyDir(), "--long", "window", t]);
    expect(plain.stdout).toMatch(new RegExp(`^(POSITIVE|NEGATIVE) [01]\\.\\d{4} \\(${obj.windows} windows\\)  `));
    const stray = runCli(["classify", "--model", tinyDir(), "--stride", "5", "x"]);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toMatch(/^error: --stride: only applies with --long window/);
  });
});
