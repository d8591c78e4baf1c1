/** `inspect --capture/--out/--json/--head-mask/--html` end to end, against the API's own forward. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { decodeNpy } from "../src/node/npy.js";
import { runCli } from "./helpers/cli.js";
import { loadTiny, tinyDir } from "./helpers/fixture.js";

const TEXT = "a quietly moving film";

describe("inspect with captures and head masks (CLI)", () => {
  let model: DistilBertClassifier;
  let dir: string;
  let ids: number[];
  beforeAll(async () => {
    model = await loadTiny();
    ids = model.tokenizer.encode(TEXT).ids;
    dir = mkdtempSync(join(tmpdir(), "inspect-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("--capture PATTERN --out DIR writes one .npy per activation plus index.json, equal to the API's captures", () => {
    const out = join(dir, "acts");
    const r = runCli(["inspect", "--model", tinyDir(), "--capture", "layer.*.attn.probs", "--capture", "head.logits,embeddings.out", "--out", out, TEXT]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`captured 4 activations → ${out}`);
    const index = JSON.parse(readFileSync(join(out, "index.json"), "utf8"));
    expect(index.input_ids).toEqual(ids);
    const names = index.activations.map((a: { name: string }) => a.name);
    expect(names.sort()).toEqual(["embeddings.out", "head.logits", "layer.0.attn.probs", "layer.1.attn.probs"]);
    const api = model.forward([ids], undefined, { capture: names });
    for (const a of index.activations) {
      const f = decodeNpy(new Uint8Array(readFileSync(join(out, a.file))));
      expect(f.shape).toEqual(api.captured[a.name].shape);
      expect(a.shape).toEqual(f.shape);
      expect(a.hf_path).toMatch(/^(distilbert\.|classifier)/);
      expect(Buffer.from(f.data.buffer).equals(Buffer.from(api.captured[a.name].data.buffer))).toBe(true);
    }
  });

  it("--json puts captured tensors under \"captured\" as nested arrays (batch axis kept)", () => {
    const r = runCli(["inspect", "--model", tinyDir(), "--json", "--capture", "layer.1.ffn.act", "--capture", "head.relu", TEXT]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    const api = model.forward([ids], undefined, { capture: ["layer.1.ffn.act", "head.relu"] });
    expect(Object.keys(j.captured).sort()).toEqual(["head.relu", "layer.1.ffn.act"]);
    expect(j.captured["layer.1.ffn.act"]).toEqual(api.captured["layer.1.ffn.act"].toNested());
    expect(j.captured["head.relu"].length).toBe(1);
    expect(j.captured["layer.1.ffn.act"][0].length).toBe(ids.length);
    // without --capture there is no "captured" key
    const plain = JSON.parse(runCli(["inspect", "--model", tinyDir(), "--json", TEXT]).stdout);
    expect("captured" in plain).toBe(false);
  });

  it("--head-mask applies Hugging Face's head mask to logits, hidden states and attentions", () => {
    const r = runCli(["inspect", "--model", tinyDir(), "--json", "--head-mask", "1,0,1,1;0.5,1,1,0", TEXT]);
    expect(r.stderr).toBe("");
    const j = JSON.parse(r.stdout);
    const mask = [[1, 0, 1, 1], [0.5, 1, 1, 0]];
    expect(j.head_mask).toEqual(mask);
    const api = model.forward([ids], undefined, { headMask: mask, outputAttentions: true, outputHiddenStates: true });
    expect(j.logits).toEqual(Array.from(api.logits.data));
    expect(j.attentions[0][1].flat().every((v: number) => v === 0)).toBe(true);
    expect(j.attentions[1]).toEqual((api.attentions![1].toNested() as unknown[])[0]);
    expect(j.hidden_states[2]).toEqual((api.hiddenStates![2].toNested() as unknown[])[0]);
    // one row applies to every layer
    const one = JSON.parse(runCli(["inspect", "--model", tinyDir(), "--json", "--head-mask", "1,0,1,1", TEXT]).stdout);
    expect(one.head_mask).toEqual([[1, 0, 1, 1], [1, 0, 1, 1]]);
    const text = runCli(["inspect", "--model", tinyDir(), "--head-mask", "1,0,1,1", TEXT]);
    expect(text.stdout).toContain("head mask: 1,0,1,1;1,0,1,1");
  });

  it("--html writes a report; the text output says where", () => {
    const file = join(dir, "r.html");
    const r = runCli(["inspect", "--model", tinyDir(), "--html", file, "--ids", ids.join(",")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`report: ${file}`);
    expect(readFileSync(file, "utf8")).toContain('id="attn-main"');
  });

  it("mistakes exit 2 with one error line", () => {
    const cases: [string[], RegExp][] = [
      [["inspect", "--model", tinyDir(), "--capture", "layer.9.out", TEXT], /matches no activation/],
      [["inspect", "--model", tinyDir(), "--out", join(dir, "x"), TEXT], /--out: nothing to write/],
      [["inspect", "--model", tinyDir(), "--head-mask", "1,0;1,1", TEXT], /row 1 has 2 values; expected 4/],
      [["inspect", "--model", tinyDir(), "--head-mask", "1,1,1,1;1,1,1,1;1,1,1,1", TEXT], /has 3 rows/],
      [["inspect", "--model", tinyDir(), "--head-mask", "1,a,1,1", TEXT], /"a" is not a number/],
    ];
    for (const [args, re] of cases) {
      const r = runCli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.split("\n")[0]).toMatch(/^error: /);
      expect(r.stderr).toMatch(re);
    }
    expect(existsSync(join(dir, "x"))).toBe(false);
  });
});
