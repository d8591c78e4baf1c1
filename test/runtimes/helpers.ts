/**
 * What every runtime test shares: the job each runtime runs (fixture cases + texts), the runtime binaries, and the
 * check of a runtime's answer against expected.json (logits within 1e-4) and against the engine in this Node
 * process (same tokens and label, logits within 1e-5, for the texts).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { expect } from "vitest";
import { JsBackend } from "../../src/tensor/js-backend.js";
import { loadTiny, tinyExpected } from "../helpers/fixture.js";
import { repoRoot } from "../helpers/shared.js";

export const LOGITS_TOL = 1e-4;
/** The same engine on the same bytes in another JS engine: only Math.exp/Math.log rounding may differ. */
export const NODE_PARITY_TOL = 1e-5;

/** Texts whose tokenization leans on Unicode tables (NFD, accents, CJK, emoji, punctuation) the host provides. */
export const TEXTS = [
  "I loved this film, it was wonderful!",
  "A dull, lifeless and overlong mess.",
  "Crème brûlée at the café was naïve — but fine.",
  "日本語のテキストと中文混合 text",
  "emoji 🎉👍🏽 and ＦＵＬＬＷＩＤＴＨ letters, İstanbul ǅ ß",
  "",
];

export interface JobCase {
  name: string;
  input_ids: number[][];
  attention_mask: number[][];
}
export interface Job {
  backends: string[];
  cases: JobCase[];
  texts: string[];
}

export interface Run {
  requested: string;
  /** The backend's name (model.backend.name), when the model loaded. */
  backend?: string;
  loadError?: string;
  cases?: { name: string; logits: number[] }[];
  texts?: { text: string; label: string; score: number; logits: number[]; tokens: string[] }[];
}

export interface RuntimeResult {
  runtime: string;
  runs: Run[];
  errors: { thrown: boolean; name?: string; isSafetensorsError?: boolean; isDistilBertError?: boolean; message?: string };
  checks?: Record<string, unknown>;
}

/** What a requested backend must turn into: a backend name (or pattern), or a load failure matching `fails`. */
export type BackendExpectation = string | RegExp | { fails: RegExp };

/** WebAssembly SIMD, relaxed or not, one thread or more. */
export const WASM = /^wasm(-relaxed)?(-\d+t)?$/;

/** Every fixture case (ids + mask only: the expected numbers never leave this process). */
export function makeJob(backends: string[]): Job {
  const cases = tinyExpected().cases.map((c) => ({ name: c.name, input_ids: c.input_ids, attention_mask: c.attention_mask }));
  return { backends, cases, texts: TEXTS };
}

/** A binary from node_modules/.bin. Under CI a missing runtime fails the test file; locally it skips. */
export function runtimeBin(name: string): string | null {
  const p = join(repoRoot, "node_modules/.bin", name);
  return available(p, name);
}

export function available(path: string, what: string): string | null {
  if (existsSync(path)) return path;
  if (process.env.CI) throw new Error(`${what} is missing at ${path} (required when CI is set)`);
  return null;
}

/**
 * The machine's Node (first `node` on PATH outside node_modules): not process.execPath, so that these tests name
 * the runtime they mean even when vitest itself runs on another Node.
 */
export function systemNode(): string | null {
  const binDir = join(repoRoot, "node_modules");
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "" || dir.startsWith(binDir)) continue;
    const p = join(dir, "node");
    if (existsSync(p)) return p;
  }
  return available(join("/usr/bin", "node"), "the system Node (node on PATH)");
}

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `distilbert-ts-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeJob(dir: string, job: Job): string {
  const p = join(dir, "job.json");
  writeFileSync(p, JSON.stringify(job));
  return p;
}

/** Runs a command; resolves with its output, rejects on a non-zero exit or timeout (the process is killed). */
export function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd ?? repoRoot, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")} timed out\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(" ")} exited with ${code ?? signal}\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-4000)}`));
    });
  });
}

/** The entry scripts print one line `RESULT <json>`; anything else they print is diagnostics. */
export function parseResult(stdout: string): RuntimeResult {
  const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (line === undefined) throw new Error(`no RESULT line in output:\n${stdout.slice(-2000)}`);
  return JSON.parse(line.slice("RESULT ".length)) as RuntimeResult;
}

type TextResult = NonNullable<Run["texts"]>;
let nodeTexts: Promise<TextResult> | undefined;
/** The engine in this process (from src/, js backend) on the same texts: the reference for tokens and labels. */
function nodeReferenceTexts(): Promise<TextResult> {
  nodeTexts ??= (async () => {
    const model = await loadTiny(new JsBackend());
    const out: TextResult = [];
    for (const text of TEXTS) {
      const r = await model.classify(text);
      out.push({ text, label: r.label, score: r.score, logits: r.logits, tokens: r.tokens });
    }
    return out;
  })();
  return nodeTexts;
}

/**
 * Asserts a runtime's answer. For each requested backend: it became the expected backend (or failed as expected);
 * every fixture case's logits within 1e-4 of expected.json; the texts tokenized exactly as in Node with the same
 * label and logits within 1e-5. Then the typed errors. Prints the runtime, its version and the max differences.
 */
export async function checkResult(where: string, result: RuntimeResult, expected: Record<string, BackendExpectation>): Promise<void> {
  const exp = tinyExpected();
  const ref = await nodeReferenceTexts();
  expect(result.runs.map((r) => r.requested), `${where}: backends run`).toEqual(Object.keys(expected));
  for (const run of result.runs) {
    const want = expected[run.requested];
    const tag = `${where} ${run.requested}`;
    if (typeof want === "object" && "fails" in want) {
      expect(run.loadError, `${tag}: should fail to load`).toMatch(want.fails);
      console.log(`[${where}] ${result.runtime} | backend "${run.requested}" refused as expected: ${run.loadError}`);
      continue;
    }
    expect(run.loadError, `${tag}: load`).toBeUndefined();
    if (typeof want === "string") expect(run.backend, `${tag}: backend`).toBe(want);
    else expect(run.backend, `${tag}: backend`).toMatch(want);

    const cases = run.cases!;
    expect(cases.map((c) => c.name)).toEqual(exp.cases.map((c) => c.name));
    let worst = 0;
    let worstCase = "";
    cases.forEach((got, i) => {
      const w = exp.cases[i].logits.flat();
      expect(got.logits.length, `${tag}: ${got.name} logits length`).toBe(w.length);
      for (let j = 0; j < w.length; j++) {
        const d = Math.abs(got.logits[j] - w[j]);
        if (!(d <= worst)) {
          worst = d;
          worstCase = got.name;
        }
      }
    });

    const texts = run.texts!;
    expect(texts.map((t) => t.text)).toEqual(TEXTS);
    let worstText = 0;
    texts.forEach((got, i) => {
      expect(got.tokens, `${tag}: tokens of ${JSON.stringify(got.text)}`).toEqual(ref[i].tokens);
      expect(got.label, `${tag}: label of ${JSON.stringify(got.text)}`).toBe(ref[i].label);
      got.logits.forEach((v, j) => (worstText = Math.max(worstText, Math.abs(v - ref[i].logits[j]))));
      worstText = Math.max(worstText, Math.abs(got.score - ref[i].score));
    });
    console.log(
      `[${where}] ${result.runtime} | backend "${run.requested}" → ${run.backend} | ${cases.length} fixture cases, max |logit diff| ${worst.toExponential(2)} (${worstCase}) ` +
        `| ${texts.length} texts vs Node (js): tokens equal, max |diff| ${worstText.toExponential(2)}`,
    );
    expect(worst, `${tag}: worst case ${worstCase}`).toBeLessThanOrEqual(LOGITS_TOL);
    expect(worstText, `${tag}: texts vs Node`).toBeLessThanOrEqual(NODE_PARITY_TOL);
  }

  expect(result.errors, `${where}: typed errors`).toMatchObject({ thrown: true, name: "SafetensorsError", isSafetensorsError: true, isDistilBertError: true });
  expect(result.errors.message).toMatch(/^bad\.safetensors: /);
}

/** A free TCP port on 127.0.0.1 (the OS picks it; a tiny race remains until the server binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
