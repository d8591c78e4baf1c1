/**
 * The attribute and patch commands and inspect --gradients, run as a user would (dist/node/cli.js), with their
 * numbers checked against PyTorch's where PyTorch has them (test/fixtures/grad-expected.json).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { loadTiny, tinyDir } from "./helpers/fixture.js";
import { gradExpected, relError } from "./helpers/grad-expected.js";
import { patchTexts } from "./helpers/patch-texts.js";

const dir = mkdtempSync(join(tmpdir(), "attribute-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function labels(): string[] {
  const c = JSON.parse(readFileSync(join(tinyDir(), "config.json"), "utf8")) as { id2label: Record<string, string> };
  return Object.keys(c.id2label).sort((a, b) => Number(a) - Number(b)).map((k) => c.id2label[k]);
}

describe("attribute", () => {
  it("--method ig --steps 32 --json: the issue's fields, PyTorch's numbers", () => {
    const ig = gradExpected().integrated_gradients;
    const r = runCli(["attribute", "--model", tinyDir(), "--method", "ig", "--steps", "32", "--target", labels()[ig.target], "--json", "--ids", ig.input_ids.join(",")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j).slice(0, 5)).toEqual(["tokens", "target", "label", "attributions", "completeness_gap"]);
    expect(j.tokens).toHaveLength(ig.input_ids.length);
    expect(j.target).toBe(ig.target);
    expect(j.label).toBe(labels()[ig.target]);
    j.attributions.forEach((v: number, i: number) => expect(Math.abs(v - ig.riemann_right.attributions[i])).toBeLessThan(2e-7));
    expect(Math.abs(j.completeness_gap - ig.riemann_right.completeness_gap)).toBeLessThan(1e-5);
  });

  it("every method prints one line per token; IG and gradient × input print their completeness gap", () => {
    for (const method of ["ig", "gradxinput", "saliency", "rollout", "occlusion"]) {
      const r = runCli(["attribute", "--model", tinyDir(), "--method", method, "--steps", "4", "the movie was great"]);
      expect(r.code, `${method}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`method: ${method}`);
      expect(r.stdout).toMatch(/\[CLS\]/);
      expect(r.stdout.includes("completeness gap"), method).toBe(method === "ig" || method === "gradxinput");
    }
  });

  it("--html writes a page with the tokens", () => {
    const file = join(dir, "ig.html");
    const r = runCli(["attribute", "--model", tinyDir(), "--rule", "gauss", "--steps", "8", "--html", file, "a <b>bold</b> film"]);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(file, "utf8");
    expect(html).toContain("Integrated gradients");
    expect(html).not.toContain("<b>bold");
  });

  it("bad usage and bad labels: one error line, exit 2", () => {
    for (const args of [["--method", "shap"], ["--steps", "0"], ["--baseline", "unk"], ["--rule", "simpson"], ["--target", "MAYBE"]]) {
      const r = runCli(["attribute", "--model", tinyDir(), ...args, "fine"]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.split("\n")[0]).toMatch(/^error: /);
    }
  });
});

describe("inspect --gradients", () => {
  it("adds \"gradients\": {\"embeddings.out\": [T][dim]}, PyTorch's", () => {
    const c = gradExpected().cases.find((x) => x.objective === "logit" && x.attention_mask.every((m) => m === 1))!;
    const r = runCli(["inspect", "--model", tinyDir(), "--json", "--gradients", "embeddings.out", "--target", labels()[c.label], "--ids", c.input_ids.join(",")]);
    expect(r.code, r.stderr).toBe(0);
    const g = JSON.parse(r.stdout).gradients["embeddings.out"] as number[][];
    expect(g).toHaveLength(c.input_ids.length);
    expect(relError(g.flat(), c.gradients["embeddings.out"])).toBeLessThan(2e-6);
  });

  it("--target without --gradients is a usage error", () => {
    const r = runCli(["inspect", "--model", tinyDir(), "--target", labels()[0], "fine"]);
    expect(r.code).toBe(2);
  });
});

describe("patch", () => {
  it("--by position and --by head: grids of the model's shape", async () => {
    const { clean, corrupted } = patchTexts((await loadTiny()).tokenizer);
    const base = ["patch", "--model", tinyDir(), "--clean", clean, "--corrupted", corrupted];
    const cfg = JSON.parse(readFileSync(join(tinyDir(), "config.json"), "utf8")) as { n_layers: number; n_heads: number };
    const pos = JSON.parse(runCli([...base, "--json"]).stdout);
    expect(pos.grid).toHaveLength(cfg.n_layers + 1);
    expect(pos.grid[0]).toHaveLength(pos.cleanTokens.length);
    const head = JSON.parse(runCli([...base, "--by", "head", "--json"]).stdout);
    expect(head.grid).toHaveLength(cfg.n_layers);
    expect(head.grid[0]).toHaveLength(cfg.n_heads);
    const text = runCli([...base, "--by", "head"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("layer.0");
    const file = join(dir, "patch.html");
    expect(runCli([...base, "--html", file]).code).toBe(0);
    expect(readFileSync(file, "utf8")).toContain("Activation patching by position");
  });

  it("inputs of different token counts: exit 2", () => {
    const r = runCli(["patch", "--model", tinyDir(), "--clean", "the movie was great", "--corrupted", "[CLS]"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: patch: .*same number of tokens/);
  });
});
