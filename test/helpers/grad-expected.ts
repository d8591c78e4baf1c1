/**
 * PyTorch autograd's float64 gradients for the shared tiny fixture (test/fixtures/grad-expected.json, made by
 * scripts/make-grad-expectations.py). When the fixture folder holds a model of another shape than the committed
 * expectations were made for, they are regenerated from it with Debian's python3 + torch, if present.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tinyDir } from "./fixture.js";
import { repoRoot, requireShared } from "./shared.js";

export interface GradCase {
  name: string;
  input_ids: number[];
  attention_mask: number[];
  objective: "logit" | "logProb" | "prob";
  label: number;
  value: number;
  logits: number[];
  gradients: Record<string, number[]>;
}

export interface IgExpected {
  input_ids: number[];
  baseline_ids: number[];
  target: number;
  f_input: number;
  f_baseline: number;
  steps: number;
  riemann_right: { attributions: number[]; completeness_gap: number };
  gauss_legendre: { attributions: number[]; completeness_gap: number };
  gradxinput: { attributions: number[]; completeness_gap: number };
  /** The [CLS] row of the attention rollout. */
  rollout_cls: number[];
}

export interface GradExpected {
  command: string;
  config: Record<string, unknown>;
  cases: GradCase[];
  integrated_gradients: IgExpected;
}

let cache: GradExpected | undefined;

export function gradExpected(): GradExpected {
  if (cache !== undefined) return cache;
  const committed = JSON.parse(readFileSync(join(repoRoot, "test/fixtures/grad-expected.json"), "utf8")) as GradExpected;
  const config = JSON.parse(readFileSync(join(tinyDir(), "config.json"), "utf8")) as Record<string, unknown>;
  const same = Object.entries(committed.config).every(([k, v]) => config[k] === v || (config[k] === undefined && k === "activation" && v === "gelu"));
  if (same) return (cache = committed);
  const python = "/usr/bin/python3";
  if (!existsSync(python)) throw new Error("the fixture's shape differs from test/fixtures/grad-expected.json and /usr/bin/python3 (with torch) is absent to regenerate it");
  const out = execFileSync(python, [join(repoRoot, "scripts/make-grad-expectations.py"), tinyDir(), join(requireShared(), "tools/reference")], {
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
  });
  return (cache = JSON.parse(out) as GradExpected);
}

/** ‖a - b‖₂ / ‖b‖₂ (the whole tensor's relative error). */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-300);
}
