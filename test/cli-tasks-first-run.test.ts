/**
 * Issue 18's rules on the commands that came after it (fill-mask, qa, ner, embed, attribute, patch, serve), as CLI
 * contract tests: did-you-mean and the "--" hint, one rule for several TEXT arguments, the row rule for --file and
 * stdin (empty inputs and bad inputs keep their place; a stop keeps what was written), encodings in every reader,
 * the terminal hint for every stdin reader, one label-case rule, and plain objects in the pipelines' outputs.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeNpy } from "../src/node/npy.js";
import { pipeline } from "../src/node/pipeline.js";
import { CLI, runCli } from "./helpers/cli.js";
import { tinyDir } from "./helpers/fixture.js";
import { headsDir } from "./helpers/heads.js";
import { tempDirs } from "./helpers/temp-dirs.js";

const tmp = tempDirs("tasks-first-run");

const mlm = () => join(headsDir(), "mlm-uncased");
const ner = () => join(headsDir(), "ner-cased");
const qa = () => join(headsDir(), "qa-cased");
const embed = () => join(headsDir(), "embed");
const first = (s: string) => s.split("\n")[0];
const jsonLines = (s: string) => s.trimEnd().split("\n").map((l) => JSON.parse(l));

describe("discovery on the new commands", () => {
  it("a mistyped flag gets the command's closest flag", () => {
    const cases: [string[], string][] = [
      [["fill-mask", "--top_k", "2"], "error: fill-mask: unknown option --top_k (did you mean --top-k?)"],
      [["ner", "--aggregaton", "simple"], "error: ner: unknown option --aggregaton (did you mean --aggregation?)"],
      [["embed", "--modle", "x"], "error: embed: unknown option --modle (did you mean --model?)"],
      [["qa", "--questoin", "x"], "error: qa: unknown option --questoin (did you mean --question?)"],
      [["attribute", "--mthod", "ig"], "error: attribute: unknown option --mthod (did you mean --method?)"],
      [["patch", "--clen", "x"], "error: patch: unknown option --clen (did you mean --clean?)"],
      [["serve", "--prot", "1"], "error: serve: unknown option --prot (did you mean --port?)"],
    ];
    for (const [args, line] of cases) {
      const r = runCli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(first(r.stderr)).toBe(line);
      expect(r.stderr).toContain(`\nusage: distilbert-ts ${args[0]} `);
    }
  });

  it('a TEXT that starts with "-" gets the "--" hint on every command that takes TEXT, and works after "--"', () => {
    for (const [cmd, model] of [["fill-mask", mlm()], ["ner", ner()], ["embed", embed()], ["attribute", tinyDir()]] as const) {
      const r = runCli([cmd, "--model", model, "-5 [MASK]"]);
      expect(r.code, cmd).toBe(2);
      expect(first(r.stderr)).toBe(`error: ${cmd}: unknown option "-5 [MASK]"; expected a known option, or a text that starts with "-" put after "--": distilbert-ts ${cmd} -- "-5 [MASK]"`);
      const ok = runCli([cmd, "--model", model, "--", "-5 [MASK]"]);
      expect(ok.code, `${cmd}: ${ok.stderr}`).toBe(0);
    }
  });

  it('an option value that starts with "-" says how to pass it (--clean="-5 stars"), which then works', () => {
    const r = runCli(["patch", "--model", tinyDir(), "--clean", "-5 stars", "--corrupted", "-4 stars"]);
    expect(r.code).toBe(2);
    expect(first(r.stderr)).toBe('error: --clean: its value "-5 stars" starts with "-" (or the value is missing); expected --clean="-5 stars" for a value that starts with "-"');
    const ok = runCli(["patch", "--model", tinyDir(), "--clean=-5 stars", "--corrupted=-4 stars", "--json"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).cleanTokens).toEqual(["[CLS]", "-", "5", "stars", "[SEP]"]);
    const t = runCli(["tokenize", "--model", tinyDir(), "--pair", "-x", "a"]);
    expect(first(t.stderr)).toBe('error: --pair: its value "-x" starts with "-" (or the value is missing); expected --pair="-x" for a value that starts with "-"');
  });

  it("a model with another head is refused by name before any input is read", () => {
    const r = runCli(["ner", "--model", tinyDir()], { input: "John lives in Paris\n" });
    expect(r).toEqual({ code: 2, stdout: "", stderr: `error: ${tinyDir()}: holds a DistilBertForSequenceClassification, which ner cannot use; expected a DistilBertForTokenClassification model folder\n` });
  });
});

describe("one rule for several TEXT arguments", () => {
  it("fill-mask, ner and embed answer each argument as its own input, in order", () => {
    const one = (cmd: string, model: string, text: string) => runCli([cmd, "--model", model, "--json", text]).stdout;
    for (const [cmd, model, a, b] of [["fill-mask", mlm(), "paris is [MASK].", "the [MASK] sat."], ["ner", ner(), "John lives in Paris", "Mary"], ["embed", embed(), "a fine film", "a bad one"]] as const) {
      const both = runCli([cmd, "--model", model, "--json", a, b]);
      expect(both.code, both.stderr).toBe(0);
      expect(both.stdout, cmd).toBe(one(cmd, model, a) + one(cmd, model, b));
    }
  });

  it("attribute, like inspect, looks at one input and refuses several instead of joining them; patch takes none", () => {
    const a = runCli(["attribute", "--model", tinyDir(), "good", "film"]);
    expect(a.code).toBe(2);
    expect(first(a.stderr)).toBe('error: attribute: takes one TEXT, got 2 arguments; expected one quoted text ("the film was fine"), or classify/tokenize for several texts');
    const p = runCli(["patch", "--model", tinyDir(), "--clean", "good", "--corrupted", "bad", "extra"]);
    expect(first(p.stderr)).toBe('error: patch: unexpected argument "extra"');
  });
});

describe("the row rule for the task commands (--file and stdin)", () => {
  it("fill-mask: an empty line keeps its place; a text without [MASK] stops the run after what was written, or keeps its row with --skip-bad-lines", () => {
    const d = tmp();
    const file = join(d, "in.txt");
    writeFileSync(file, "paris is [MASK].\n\nthe cat sat\nthe [MASK] sat.\n");
    const alone = (t: string) => runCli(["fill-mask", "--model", mlm(), "--top-k", "2", t]).stdout;
    const stop = runCli(["fill-mask", "--model", mlm(), "--top-k", "2", "--file", file]);
    expect(stop.code).toBe(2);
    expect(stop.stdout).toBe(alone("paris is [MASK].") + "-  (skipped: empty input)\n");
    expect(stop.stderr).toBe(`stopped at a bad input; the outputs of the 2 inputs before it are in the output above\nerror: ${file}:3: has no [MASK] token; expected a text with at least one mask token\n`);
    const skip = runCli(["fill-mask", "--model", mlm(), "--top-k", "2", "--file", file, "--skip-bad-lines", "--json"]);
    expect(skip.code, skip.stderr).toBe(0);
    expect(skip.stderr).toBe(`warning: ${file}:3: has no [MASK] token; skipped\n`);
    const json = (t: string) => JSON.parse(runCli(["fill-mask", "--model", mlm(), "--top-k", "2", "--json", t]).stdout);
    expect(jsonLines(skip.stdout)).toEqual([
      json("paris is [MASK]."),
      { text: "", skipped: "empty input" },
      { text: "the cat sat", skipped: "line 3: has no [MASK] token" },
      json("the [MASK] sat."),
    ]);
    // An empty TEXT argument follows the same rule.
    expect(runCli(["fill-mask", "--model", mlm(), "", "  "]).stdout).toBe("-  (skipped: empty input)\n".repeat(2));
  });

  it("ner: a ragged CSV row keeps its place with --skip-bad-lines, and stops the run after the rows before it without", () => {
    const d = tmp();
    const file = join(d, "in.csv");
    writeFileSync(file, "id,text\n1,John lives in Paris\n2,too,many\n3,\n4,Mary\n");
    const json = (t: string) => JSON.parse(runCli(["ner", "--model", ner(), "--json", t]).stdout);
    const skip = runCli(["ner", "--model", ner(), "--file", file, "--json", "--skip-bad-lines"]);
    expect(skip.code, skip.stderr).toBe(0);
    expect(jsonLines(skip.stdout)).toEqual([json("John lives in Paris"), { text: "", skipped: "line 3: has 3 fields but the header has 2" }, { text: "", skipped: "empty input" }, json("Mary")]);
    expect(skip.stderr).toBe(`warning: ${file}:3: has 3 fields but the header has 2; skipped\n`);
    const stop = runCli(["ner", "--model", ner(), "--file", file, "--json"]);
    expect(stop.code).toBe(2);
    expect(jsonLines(stop.stdout)).toEqual([json("John lives in Paris")]);
    expect(stop.stderr).toMatch(new RegExp(`^stopped at a bad input; the outputs of the 1 input before it are in the output above\\nerror: ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:3: has 3 fields`));
  });

  it("embed --out: a skipped input is a NaN row (.npy) or embedding null (.jsonl), and a stop still writes the rows before it", () => {
    const d = tmp();
    const file = join(d, "in.txt");
    writeFileSync(file, Buffer.concat([Buffer.from("a fine film\n\n"), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]), Buffer.from("a bad one\n")]));
    const vec = (t: string) => JSON.parse(runCli(["embed", "--model", embed(), "--json", t]).stdout) as number[];
    const npy = join(d, "out.npy");
    const r = runCli(["embed", "--model", embed(), "--file", file, "--out", npy, "--skip-bad-lines"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`warning: ${file}:3: is not valid UTF-8; skipped\n2 embeddings of 16 dimensions in ${npy}; 2 inputs skipped (NaN rows)\n`);
    const { data, shape } = decodeNpy(readFileSync(npy));
    expect(shape).toEqual([4, 16]);
    const row = (i: number) => Array.from(data.subarray(i * 16, (i + 1) * 16));
    expect(row(0)).toEqual(Array.from(Float32Array.from(vec("a fine film"))));
    expect(row(1).every(Number.isNaN) && row(2).every(Number.isNaN)).toBe(true);
    expect(row(3)).toEqual(Array.from(Float32Array.from(vec("a bad one"))));
    const jsonl = join(d, "out.jsonl");
    expect(runCli(["embed", "--model", embed(), "--file", file, "--out", jsonl, "--skip-bad-lines"]).code).toBe(0);
    expect(jsonLines(readFileSync(jsonl, "utf8")).map((o) => o.skipped ?? null)).toEqual([null, "empty input", "line 3: is not valid UTF-8", null]);
    // Without --skip-bad-lines: exit 2, and the file holds the two rows before the bad line.
    const stopped = join(d, "stopped.npy");
    const s = runCli(["embed", "--model", embed(), "--file", file, "--out", stopped]);
    expect(s.code).toBe(2);
    expect(s.stderr).toBe(`stopped at a bad input; the outputs of the 2 inputs before it are in ${stopped}\nerror: ${file}:3: is not valid UTF-8; expected a well-formed record (or --skip-bad-lines to skip such records)\n`);
    expect(decodeNpy(readFileSync(stopped)).shape).toEqual([2, 16]);
  });

  it("qa: an empty question or context keeps its place; a stdin line that is not a JSON object is a bad input", () => {
    const good = { question: "Where does John live?", context: "John lives in Paris." };
    const answer = JSON.parse(runCli(["qa", "--model", qa(), "--json", "--question", good.question, "--context", good.context]).stdout);
    const input = [JSON.stringify(good), "", "not json", JSON.stringify({ question: "", context: "x" }), JSON.stringify(good)].join("\n") + "\n";
    const skip = runCli(["qa", "--model", qa(), "--json", "--skip-bad-lines"], { input });
    expect(skip.code, skip.stderr).toBe(0);
    expect(jsonLines(skip.stdout)).toEqual([answer, { text: "", skipped: "empty input" }, { text: "not json", skipped: "line 3: is not a JSON object" }, { text: JSON.stringify({ question: "", context: "x" }), skipped: "empty input" }, answer]);
    const stop = runCli(["qa", "--model", qa(), "--json"], { input });
    expect(stop.code).toBe(2);
    expect(stop.stderr).toBe('stopped at a bad input; the outputs of the 2 inputs before it are in the output above\nerror: stdin:3: is not a JSON object; expected {"question": …, "context": …}\n');
    const d = tmp();
    writeFileSync(join(d, "q.csv"), `question,context\n"${good.question}",${good.context}\n,nothing asked\n`);
    expect(jsonLines(runCli(["qa", "--model", qa(), "--json", "--file", join(d, "q.csv")]).stdout)).toEqual([answer, { text: "", skipped: "empty input" }]);
  });

  it("classify on stdin with --skip-bad-lines keeps a bad line's row, as in a file", () => {
    const r = runCli(["classify", "--model", tinyDir(), "--skip-bad-lines"], { input: Buffer.from([0x6f, 0x6b, 0x0a, 0xff, 0x0a, 0x6f, 0x6b, 0x0a]) });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[1]).toBe("-  (skipped: line 2: is not valid UTF-8)");
    expect(lines[0]).toBe(lines[2]);
  });
});

describe("encodings in every reader", () => {
  const utf16 = (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, "utf16le")]);
  const bomError = (where: string) => `error: ${where}: is UTF-16 LE text (it starts with a UTF-16 LE byte order mark), not UTF-8; expected UTF-8 text; convert it with: iconv -f UTF-16LE -t UTF-8 ${where === "stdin" ? "FILE" : where} > converted.txt\n`;

  it("the task commands name a UTF-16 file or stdin, and report the line that is not UTF-8", () => {
    const d = tmp();
    const file = join(d, "in.txt");
    writeFileSync(file, utf16("John lives in Paris\n"));
    expect(runCli(["ner", "--model", ner(), "--file", file])).toEqual({ code: 2, stdout: "", stderr: bomError(file) });
    expect(runCli(["embed", "--model", embed()], { input: utf16("a\n") })).toEqual({ code: 2, stdout: "", stderr: bomError("stdin") });
    const bad = runCli(["fill-mask", "--model", mlm()], { input: Buffer.from([0x5b, 0x4d, 0x41, 0x53, 0x4b, 0x5d, 0x0a, 0xe9, 0x0a]) });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/error: stdin:2: is not valid UTF-8; expected UTF-8 text \(or --skip-bad-lines to skip such lines\)\n$/);
  });

  it("whole text files (probe --values, tokenize --vocab, a model's vocab.txt and config.json) too", () => {
    const d = tmp();
    const values = join(d, "values.txt");
    writeFileSync(values, utf16("France\n"));
    const probe = ["probe", "--model", tinyDir(), "--template", "A film from {}."];
    expect(runCli([...probe, "--values", values])).toEqual({ code: 2, stdout: "", stderr: bomError(values) });
    expect(runCli([...probe, "--values", "-"], { input: utf16("France\n") })).toEqual({ code: 2, stdout: "", stderr: bomError("stdin") });
    writeFileSync(values, Buffer.concat([Buffer.from("France\nCaf"), Buffer.from([0xe9]), Buffer.from("\n")]));
    expect(runCli([...probe, "--values", values]).stderr).toBe(`error: ${values}:2: is not valid UTF-8; expected UTF-8 text\n`);
    const vocab = readFileSync(join(tinyDir(), "vocab.txt"));
    const badVocab = join(d, "vocab.txt");
    const at = vocab.indexOf("\n", 1000) + 1;
    writeFileSync(badVocab, Buffer.concat([vocab.subarray(0, at), Buffer.from([0xe9, 0x0a]), vocab.subarray(at)]));
    const line = vocab.subarray(0, at).toString().split("\n").length;
    expect(runCli(["tokenize", "--vocab", badVocab, "a"]).stderr).toBe(`error: ${badVocab}:${line}: is not valid UTF-8; expected UTF-8 text\n`);
    // A model folder: before, tokenize --vocab decoded with U+FFFD and the folder said only "is not valid UTF-8 text".
    const model = join(d, "model");
    mkdirSync(model);
    copyFileSync(join(tinyDir(), "model.safetensors"), join(model, "model.safetensors"));
    copyFileSync(badVocab, join(model, "vocab.txt"));
    writeFileSync(join(model, "config.json"), readFileSync(join(tinyDir(), "config.json")));
    expect(runCli(["classify", "--model", model, "x"]).stderr).toBe(`error: ${join(model, "vocab.txt")}:${line}: is not valid UTF-8; expected UTF-8 text\n`);
    writeFileSync(join(model, "config.json"), utf16(readFileSync(join(tinyDir(), "config.json"), "utf8")));
    expect(runCli(["inspect", "--model", model, "--list"])).toEqual({ code: 2, stdout: "", stderr: bomError(join(model, "config.json")) });
  });
});

describe("the terminal hint, for every command that reads stdin", () => {
  const hasScript = spawnSync("script", ["--version"]).status === 0;
  it.skipIf(!hasScript && !process.env.CI)(`tokenize, the task commands, qa and probe --values - say they read the terminal; a pipe gets no hint${hasScript ? "" : " [skipped here: no script(1)]"}`, () => {
    const cases: [string[], string, string][] = [
      [["tokenize", "--model", tinyDir()], "a", "reading texts from the terminal, one a line; Ctrl-D ends (or give TEXT arguments)"],
      [["ner", "--model", ner()], "Mary", "reading texts from the terminal, one a line; Ctrl-D ends (or give TEXT arguments, or --file PATH)"],
      [["qa", "--model", qa()], JSON.stringify({ question: "Who?", context: "Mary" }), 'reading JSON objects {"question", "context"} from the terminal, one a line; Ctrl-D ends (or --question Q --context C, or --file PATH)'],
      [["probe", "--model", tinyDir(), "--template", "A film from {}.", "--values", "-"], "France", "reading values from the terminal, one a line; Ctrl-D ends (or --values FILE, or --set NAME)"],
    ];
    for (const [args, typed, hint] of cases) {
      // `script` gives the child a pseudo-terminal; the piped input is typed into it, then EOF (Ctrl-D).
      const r = spawnSync("script", ["-qec", [process.execPath, CLI, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" "), "/dev/null"], { input: `${typed}\n\x04`, encoding: "utf8", timeout: 60_000 });
      expect(r.status, `${args[0]}: ${r.stdout}`).toBe(0);
      expect(r.stdout.replaceAll("\r", ""), args[0]).toContain(hint + "\n");
      expect(runCli(args, { input: `${typed}\n` }).stderr, args[0]).toBe("");
    }
  });
});

describe("one label-case rule", () => {
  it("attribute --target, inspect --target and patch --target/--other ignore case, as probe --label and eval do", () => {
    const attr = (t: string) => runCli(["attribute", "--model", tinyDir(), "--method", "saliency", "--target", t, "--json", "a fine film"]);
    expect(attr("positive").code).toBe(0);
    expect(JSON.parse(attr("positive").stdout)).toEqual(JSON.parse(attr("POSITIVE").stdout));
    const patch = (t: string, o: string) => runCli(["patch", "--model", tinyDir(), "--clean", "good film", "--corrupted", "bad film", "--target", t, "--other", o, "--json"]);
    expect(JSON.parse(patch("negative", "Positive").stdout)).toEqual(JSON.parse(patch("NEGATIVE", "POSITIVE").stdout));
    const insp = (t: string) => runCli(["inspect", "--model", tinyDir(), "--target", t, "--gradients", "layer.0.out", "--json", "good"]);
    const lower = insp("negative");
    expect(lower.code, lower.stderr).toBe(0);
    expect(JSON.parse(lower.stdout).gradients).toEqual(JSON.parse(insp("NEGATIVE").stdout).gradients);
    expect(first(attr("neutral").stderr)).toBe('error: target: the string "neutral" is not a label of this model; expected one of NEGATIVE, POSITIVE (or an index below 2)');
  });
});

describe("the library's outputs are plain objects", () => {
  /** Paths of objects with a null prototype ("[Object: null prototype]" in console.log) inside `v`. */
  function nullPrototypes(v: unknown, path = "$"): string[] {
    if (v === null || typeof v !== "object" || ArrayBuffer.isView(v)) return [];
    const own = Array.isArray(v) ? [] : Object.getPrototypeOf(v) === null ? [path] : [];
    return [...own, ...Object.entries(v).flatMap(([k, x]) => nullPrototypes(x, `${path}.${k}`))];
  }

  it("every pipeline's output, and classify's scores", async () => {
    const outs: [string, unknown][] = [
      ["text-classification", await (await pipeline("text-classification", tinyDir()))("a fine film", { topK: null })],
      ["fill-mask", await (await pipeline("fill-mask", mlm()))("paris is [MASK].")],
      ["token-classification", await (await pipeline("token-classification", ner()))("John lives in Paris", { aggregation: "simple" })],
      ["question-answering", await (await pipeline("question-answering", qa()))({ question: "Who?", context: "John lives in Paris" }, { topK: 2 })],
    ];
    for (const [task, out] of outs) {
      expect(nullPrototypes(out), task).toEqual([]);
      expect(JSON.stringify(out).length, task).toBeGreaterThan(2);
    }
  });
});
