/**
 * The rough edges a new user meets in the first minutes (issue 18), as CLI contract tests: discovery (--version,
 * --help, did-you-mean), one rule for several TEXT arguments, tokenize like every command, encodings, label case,
 * a truncated vocab, the terminal hint, and the library's plain `scores`.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";

import { join } from "node:path";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { MANIFEST } from "../src/node/download.js";
import { DEFAULT_MODEL_ID, DEFAULT_REVISION, defaultModelDir } from "../src/node/home.js";
import { CLI, runCli } from "./helpers/cli.js";
import { loadTiny, tinyDir } from "./helpers/fixture.js";
import { repoRoot } from "./helpers/shared.js";
import { tempDirs } from "./helpers/temp-dirs.js";

const tmp = tempDirs("first-run");

/** A DISTILBERT_TS_HOME whose default model is the tiny fixture, as a completed `download` would leave it. */
function homeWithDefaultModel(): string {
  const home = tmp();
  const dir = defaultModelDir({ DISTILBERT_TS_HOME: home });
  mkdirSync(dir, { recursive: true });
  const files: Record<string, { size: number; hash: string }> = {};
  for (const f of ["config.json", "vocab.txt", "model.safetensors"]) {
    copyFileSync(join(tinyDir(), f), join(dir, f));
    files[f] = { size: statSync(join(dir, f)).size, hash: "sha256:0" };
  }
  writeFileSync(join(dir, MANIFEST), JSON.stringify({ format: 1, model_id: DEFAULT_MODEL_ID, revision: DEFAULT_REVISION, files, absent: [], complete: true }));
  return home;
}

const commandNames = (): string[] => {
  const help = runCli(["--help"]).stdout;
  return [...help.slice(help.indexOf("commands:")).matchAll(/^ {2}(\S+) {2}/gm)].map((m) => m[1]);
};

describe("discovery", () => {
  it("--version, -V and version print the package.json version", () => {
    const v = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).version;
    for (const flag of ["--version", "-V", "version"]) expect(runCli([flag])).toEqual({ code: 0, stdout: `distilbert-ts ${v}\n`, stderr: "" });
  });

  it("every command's --help lists --debug and --check-weights (the options every command takes)", () => {
    const names = commandNames();
    expect(names).toEqual(expect.arrayContaining(["download", "classify", "eval", "tokenize", "inspect", "probe"]));
    for (const n of names) {
      const r = runCli([n, "--help"]);
      expect(r.code, n).toBe(0);
      expect(r.stdout, n).toMatch(/^ {2}--check-weights {2}scan every weight for NaN\/Inf/m);
      expect(r.stdout, n).toMatch(/^ {2}--debug {10}print the stack trace/m);
    }
  });

  it("a mistyped command suggests the closest ones, for every command of the table (a letter dropped, or two swapped)", () => {
    for (const n of commandNames()) {
      // One letter dropped for some, two swapped for others: both are one edit.
      // (A name of two or three letters, like qa, only swaps: dropping its third letter would leave it whole.)
      for (const typo of [n.length % 2 === 0 && n.length > 3 ? n.slice(0, 2) + n.slice(3) : n[1] + n[0] + n.slice(2)]) {
        const r = runCli([typo]);
        expect(r.code, typo).toBe(2);
        expect(r.stderr.split("\n")[0], typo).toMatch(new RegExp(`^error: distilbert-ts: unknown command "${typo}" \\(did you mean (\\S+, )*${n}[,?) ]`));
      }
    }
    // Nothing close: no guess, the list of commands.
    expect(runCli(["frobnicate"]).stderr.split("\n")[0]).toBe(`error: distilbert-ts: unknown command "frobnicate"; expected ${commandNames().join(", ")}`);
  });

  it("a mistyped flag suggests the command's closest flags; common ones count too", () => {
    const cases: [string[], string][] = [
      [["classify", "--modle", "x"], "error: classify: unknown option --modle (did you mean --model?)"],
      [["eval", "--lable-column", "y"], "error: eval: unknown option --lable-column (did you mean --label-column?)"],
      [["tokenize", "--jsno"], "error: tokenize: unknown option --jsno (did you mean --json?)"],
      [["inspect", "--check-weight", "x"], "error: inspect: unknown option --check-weight (did you mean --check-weights?)"],
    ];
    for (const [args, line] of cases) {
      const r = runCli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.split("\n")[0]).toBe(line);
      expect(r.stderr).toMatch(new RegExp(`\\nusage: distilbert-ts ${args[0]} `));
    }
  });

  it('classify "-5 stars" keeps the hint to put such a text after "--", which then works', () => {
    const r = runCli(["classify", "--model", tinyDir(), "-5 stars"]);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe('error: classify: unknown option "-5 stars"; expected a known option, or a text that starts with "-" put after "--": distilbert-ts classify -- "-5 stars"');
    const ok = runCli(["classify", "--model", tinyDir(), "--", "-5 stars"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^(POSITIVE|NEGATIVE) [01]\.\d{4} {2}-5 stars\n$/);
  });
});

describe("one rule for TEXT arguments; tokenize like every command", () => {
  it("tokenize uses the default downloaded model; each argument is its own text; --json switches to JSON", () => {
    const home = homeWithDefaultModel();
    const plain = runCli(["tokenize", "hello world", "a"], { env: { DISTILBERT_TS_HOME: home } });
    expect(plain).toEqual({ code: 0, stdout: "[CLS] hello world [SEP]  (101 7592 2088 102)\n[CLS] a [SEP]  (101 1037 102)\n", stderr: "" });
    const json = runCli(["tokenize", "--json", "hello world", "a"], { env: { DISTILBERT_TS_HOME: home } });
    expect(json.code).toBe(0);
    expect(json.stdout.trimEnd().split("\n").map((l) => JSON.parse(l))).toEqual([
      {
        input_ids: [101, 7592, 2088, 102], tokens: ["[CLS]", "hello", "world", "[SEP]"], offsets: [[0, 0], [0, 5], [6, 11], [0, 0]],
        word_ids: [null, 0, 1, null], sequence_ids: [null, 0, 0, null],
      },
      { input_ids: [101, 1037, 102], tokens: ["[CLS]", "a", "[SEP]"], offsets: [[0, 0], [0, 1], [0, 0]], word_ids: [null, 0, null], sequence_ids: [null, 0, null] },
    ]);
    // No default model: the same error classify gives.
    const none = runCli(["tokenize", "x"], { env: { DISTILBERT_TS_HOME: tmp() } });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no --model DIR was given and the default model is not downloaded here; expected the model fetched once with `npx distilbert-ts download`/);
  });

  it("classify takes each argument as a text; inspect, which looks at one input, refuses several instead of joining them", () => {
    const c = runCli(["classify", "--model", tinyDir(), "--json", "good", "bad"]);
    expect(c.stdout.trimEnd().split("\n").map((l) => JSON.parse(l).text)).toEqual(["good", "bad"]);
    const i = runCli(["inspect", "--model", tinyDir(), "good", "bad"]);
    expect(i.code).toBe(2);
    expect(i.stderr.split("\n")[0]).toBe('error: inspect: takes one TEXT, got 2 arguments; expected one quoted text ("the film was fine"), or classify/tokenize for several texts');
  });

  it("tokenize reports stdin bytes that are not UTF-8 by line, as classify does", () => {
    const input = Buffer.from([0x6f, 0x6b, 0x0a, 0x63, 0x61, 0x66, 0xe9, 0x0a]);
    const t = runCli(["tokenize", "--model", tinyDir()], { input });
    expect(t.code).toBe(2);
    expect(t.stdout).toBe("[CLS] ok [SEP]  (101 7929 102)\n");
    expect(t.stderr).toBe("error: stdin:2: is not valid UTF-8; expected UTF-8 text\n");
    const c = runCli(["classify", "--model", tinyDir()], { input });
    expect(c.stderr).toMatch(/^error: stdin:2: is not valid UTF-8/);
  });
});

describe("inspect --list and capture suggestions", () => {
  it("--list prints every activation with its shape (this config's sizes) and Hugging Face module; --json too", () => {
    const cfg = JSON.parse(readFileSync(join(tinyDir(), "config.json"), "utf8"));
    const r = runCli(["inspect", "--model", tinyDir(), "--list"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^name +shape +Hugging Face module$/);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^layer\\.0\\.attn\\.probs +\\[B=1, H=${cfg.n_heads}, T, T\\] +distilbert\\.transformer\\.layer\\.0\\.attention \\(weights; output_attentions\\)$`)));
    const json = JSON.parse(runCli(["inspect", "--model", tinyDir(), "--list", "--json"]).stdout) as { name: string; shape: string[]; hf_path: string }[];
    expect(json).toHaveLength(3 + 12 * cfg.n_layers + 3);
    expect(json.find((a) => a.name === "head.logits")).toMatchObject({ shape: ["B", "labels"], hf_path: "classifier" });
    expect(lines.length).toBe(json.length + 2);
    const bad = runCli(["inspect", "--model", tinyDir(), "--list", "x"]);
    expect(bad.code).toBe(2);
  });

  it("a capture pattern that matches nothing names the closest activations and points to --list", () => {
    const r = runCli(["inspect", "--model", tinyDir(), "--capture", "layer.*.attn.prob", "x"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: capture: pattern "layer\.\*\.attn\.prob" matches no activation of this model \(did you mean "layer\.\*\.attn\.probs"/);
    expect(r.stderr).toContain("`distilbert-ts inspect --list`");
    const typo = runCli(["inspect", "--model", tinyDir(), "--capture", "head.logit", "x"]);
    expect(typo.stderr).toMatch(/\(did you mean "head\.logits"/);
  });
});

describe("encodings, labels, vocabularies", () => {
  it("UTF-16 and UTF-32 files (and stdin) are refused with the encoding named and how to convert", () => {
    const d = tmp();
    const text = "a fine film\n";
    const boms: [string, Buffer, string][] = [
      ["UTF-16 LE", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]), "UTF-16LE"],
      ["UTF-16 BE", Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, "utf16le").swap16()]), "UTF-16BE"],
      ["UTF-32 LE", Buffer.from([0xff, 0xfe, 0x00, 0x00, 0x61, 0, 0, 0, 0x0a, 0, 0, 0]), "UTF-32LE"],
      ["UTF-32 BE", Buffer.from([0x00, 0x00, 0xfe, 0xff, 0, 0, 0, 0x61, 0, 0, 0, 0x0a]), "UTF-32BE"],
    ];
    for (const [name, bytes, iconv] of boms) {
      // Every input path goes through the same line splitter: each encoding once through a file, once through stdin.
      for (const ext of [name === "UTF-16 LE" ? "csv" : "txt"]) {
        const file = join(d, `in.${ext}`);
        writeFileSync(file, bytes);
        const r = runCli(["classify", "--model", tinyDir(), "--file", file]);
        expect(r.code, `${name} ${ext}`).toBe(2);
        expect(r.stderr).toBe(`error: ${file}: is ${name} text (it starts with a ${name} byte order mark), not UTF-8; expected UTF-8 text; convert it with: iconv -f ${iconv} -t UTF-8 ${file} > converted.txt\n`);
      }
      const cmd = name.endsWith("LE") ? "classify" : "tokenize";
      const s = runCli([cmd, "--model", tinyDir()], { input: bytes });
      expect(s.stderr, `${cmd} ${name}`).toMatch(new RegExp(`^error: stdin: is ${name} text`));
    }
  });

  it("probe --label ignores case, as eval does with gold labels", () => {
    const upper = runCli(["probe", "--model", tinyDir(), "--template", "A film from {}.", "--set", "countries", "--label", "POSITIVE", "--json"]);
    const lower = runCli(["probe", "--model", tinyDir(), "--template", "A film from {}.", "--set", "countries", "--label", "positive", "--json"]);
    expect(lower.code, lower.stderr).toBe(0);
    expect(JSON.parse(lower.stdout)).toEqual(JSON.parse(upper.stdout));
    const d = tmp();
    writeFileSync(join(d, "dev.csv"), "text,label\ngood,positive\nbad,Negative\n");
    const e = runCli(["eval", "--model", tinyDir(), "--file", join(d, "dev.csv"), "--json", "--quiet"]);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).total).toBe(2);
    const none = runCli(["probe", "--model", tinyDir(), "--template", "A film from {}.", "--label", "neutral"]);
    expect(none.stderr.split("\n")[0]).toBe('error: label: "neutral" is not a label of this model; expected one of NEGATIVE, POSITIVE (case is ignored)');
  });

  it("a truncated vocab.txt (1,000 lines for a 30,522-row embedding) is refused with both numbers", () => {
    const d = tmp();
    for (const f of ["config.json", "model.safetensors"]) copyFileSync(join(tinyDir(), f), join(d, f));
    writeFileSync(join(d, "vocab.txt"), readFileSync(join(tinyDir(), "vocab.txt"), "utf8").split("\n").slice(0, 1000).join("\n") + "\n");
    const r = runCli(["classify", "--model", d, "x"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: ${join(d, "vocab.txt")}: has 1000 tokens but the model's vocab_size is 30522; expected 30522 tokens, one per row of the embedding (is the file truncated, or from another model?)\n`);
  });
});

describe("the terminal and the library", () => {
  it("classify with a terminal on stdin prints a one-line hint to stderr; with a pipe it does not", () => {
    // `script` gives the child a pseudo-terminal; the piped input is typed into it, then EOF (Ctrl-D).
    const has = spawnSync("script", ["--version"]).status === 0;
    if (!has) return;
    const r = spawnSync("script", ["-qec", `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} classify --model ${JSON.stringify(tinyDir())}`, "/dev/null"], { input: "good film\n", encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout.replaceAll("\r", "");
    expect(out).toContain("reading texts from the terminal, one a line; Ctrl-D ends (or give TEXT arguments, or --file PATH)\n");
    expect(out).toMatch(/\n(POSITIVE|NEGATIVE) [01]\.\d{4} {2}good film\n/);
    const piped = runCli(["classify", "--model", tinyDir()], { input: "good film\n" });
    expect(piped.stderr).toBe("");
  });

  it("scores is a plain object: console.log shows it as one (no [Object: null prototype])", async () => {
    const model = await loadTiny();
    const c = await model.classify("a fine film");
    expect(Object.getPrototypeOf(c.scores)).toBe(Object.prototype);
    expect(inspect(c.scores)).toMatch(/^\{ NEGATIVE: 0\.\d+, POSITIVE: 0\.\d+ \}$/);
  });
});
