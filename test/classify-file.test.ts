/**
 * `classify --file` on the fixture model: results equal to classifying each text alone, every input format, output
 * files that keep the input's columns, atomic writes, streaming, bad lines, usage errors, and the progress display.
 */
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { main } from "../src/node/cli.js";
import { DelimitedParser } from "../src/node/formats/delimited.js";
import { CLI, runCli } from "./helpers/cli.js";
import { loadTiny, tinyDir } from "./helpers/fixture.js";
import { rng } from "./helpers/random.js";
import { tempDirs } from "./helpers/temp-dirs.js";

const WORDS = ["good", "bad", "film", "movie", "great", "terrible", "plot", "acting", "the", "was", "not", "very", "boring", "fun", "é", "naïve", "😀", "don't", "(really)", "ok,", '"quoted"'];

/** Texts of 1 to 80 words: some longer than the fixture's 64-token maximum, so truncation is exercised too. */
function texts(n: number, seed: number): string[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: 1 + Math.floor(r() * 80) }, () => WORDS[Math.floor(r() * WORDS.length)]).join(" "));
}

let model: DistilBertClassifier;
/** Why no FIFO can be made here, or null when mkfifo works. */
function fifoUnavailable(): string | null {
  const d = mkdtempSync(join(tmpdir(), "distilbert-ts-fifo-probe-"));
  try {
    const r = spawnSync("mkfifo", [join(d, "probe")], { encoding: "utf8" });
    return r.status === 0 ? null : `mkfifo is unavailable (${r.error?.message ?? r.stderr.trim()})`;
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

const tmp = tempDirs("classify-file");
beforeAll(async () => {
  model = await loadTiny();
});

function jsonl(s: string): Record<string, unknown>[] {
  return s.trimEnd().split("\n").map((l) => JSON.parse(l));
}

function parseTable(s: string, d: string): string[][] {
  const p = new DelimitedParser(d);
  const out: string[][] = [];
  for (const m of s.matchAll(/([^\n]*?)(\r\n|\n)/g)) {
    const r = p.feed(m[1], m[2]);
    if (r !== undefined) out.push(r);
  }
  return out;
}

describe("classify --file", () => {
  it("a .txt file gives, line for line, exactly what classifying each line alone gives", async () => {
    const lines = texts(700, 1);
    lines[10] = "";
    const d = tmp();
    writeFileSync(join(d, "in.txt"), lines.join("\n") + "\n");
    const r = runCli(["classify", "--model", tinyDir(), "--file", join(d, "in.txt"), "--out", join(d, "out.jsonl")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    const out = jsonl(readFileSync(join(d, "out.jsonl"), "utf8"));
    expect(out).toHaveLength(lines.length);
    // Alone: stdin mode classifies each line by itself as it arrives (same runtime and backend as the file run).
    const stdin = runCli(["classify", "--model", tinyDir(), "--json"], { input: lines.join("\n") + "\n" });
    expect(stdin.code).toBe(0);
    const alone = jsonl(stdin.stdout);
    let truncated = 0;
    for (let i = 0; i < lines.length; i++) {
      const a = alone[i] as { text: string; label: string | null; score: number | null; scores: unknown; logits: unknown; truncated: boolean | null; skipped?: string };
      if (i === 10) {
        // The empty line keeps its row (so row i is line i), not classified, in both modes.
        expect(a.skipped).toBe("empty input");
        expect(out[i]).toEqual({ text: "", label: null, score: null, scores: null, logits: null, truncated: null, skipped: "empty input" });
        continue;
      }
      expect(out[i], `line ${i + 1}`).toEqual({ text: lines[i], label: a.label, score: a.score, scores: a.scores, logits: a.logits, truncated: a.truncated });
      if (a.truncated) truncated++;
    }
    // And the engine in this process agrees with both.
    const inProcess = model.classifySync(lines.slice(0, 50));
    inProcess.forEach((c, i) => i === 10 || expect([c.label, c.score]).toEqual([out[i].label, out[i].score]));
    expect(truncated).toBeGreaterThan(0);
    const counts = model.config.labels.map((l) => out.filter((o) => o.label === l).length);
    const dist = model.config.labels.map((l, i) => `${l} ${counts[i]} \\(${((100 * counts[i]) / (lines.length - 1)).toFixed(1)}%\\)`).join(", ");
    // Not a terminal: no progress bar, only the summary.
    expect(r.stderr).toMatch(new RegExp(`^classified 699 texts in \\d+:\\d\\d \\(\\d+\\.\\d texts/s\\): ${dist}; ${truncated} truncated; 1 empty input not classified; results in .*out\\.jsonl\\n$`));
    expect(readdirSync(d).sort()).toEqual(["in.txt", "out.jsonl"]);
  });

  it("CSV with BOM, CRLF, quotes and embedded newlines → CSV that keeps every input column", async () => {
    const d = tmp();
    const rows = [
      ["1", 'she said "wow", twice', "x"],
      ["2", "two\r\nlines of review", "y"],
      ["3", "plain", ""],
    ];
    const q = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
    writeFileSync(join(d, "in.csv"), "\uFEFFid,review,label\r\n" + rows.map((r) => r.map(q).join(",") + "\r\n").join(""));
    const r = runCli(["classify", "--model", tinyDir(), "--file", join(d, "in.csv"), "--column", "review", "--out", join(d, "out.csv"), "--quiet"]);
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
    const table = parseTable(readFileSync(join(d, "out.csv"), "utf8"), ",");
    // One score column per label: what threshold and calibration work needs, and any model with 3+ labels.
    expect(table[0]).toEqual(["id", "review", "label", "predicted_label", "score", "score_NEGATIVE", "score_POSITIVE", "truncated", "skipped"]);
    for (let i = 0; i < rows.length; i++) {
      const alone = await model.classify(rows[i][1]);
      expect(table[i + 1]).toEqual([...rows[i], alone.label, String(alone.score), String(alone.scores.NEGATIVE), String(alone.scores.POSITIVE), "false", ""]);
    }
  });

  it("JSONL --field → TSV; TSV (SST-2 layout, text column found as \"sentence\") → JSONL; stdout without --out", async () => {
    const d = tmp();
    const ts = texts(5, 2);
    writeFileSync(join(d, "in.jsonl"), ts.map((t, i) => JSON.stringify({ id: i, body: t, meta: { k: [i] } })).join("\n") + "\n");
    const r = runCli(["classify", "--model", tinyDir(), "--file", join(d, "in.jsonl"), "--field", "body", "--out", join(d, "out.tsv")]);
    expect(r.code).toBe(0);
    const table = parseTable(readFileSync(join(d, "out.tsv"), "utf8"), "\t");
    expect(table[0]).toEqual(["id", "body", "meta", "label", "score", "score_NEGATIVE", "score_POSITIVE", "truncated", "skipped"]);
    for (let i = 0; i < ts.length; i++) {
      const alone = await model.classify(ts[i]);
      expect(table[i + 1]).toEqual([String(i), ts[i], JSON.stringify({ k: [i] }), alone.label, String(alone.score), String(alone.scores.NEGATIVE), String(alone.scores.POSITIVE), String(alone.truncated), ""]);
    }

    writeFileSync(join(d, "dev.tsv"), "sentence\tlabel\n" + ts.map((t, i) => `${t} \t${i % 2}\n`).join(""));
    const j = runCli(["classify", "--model", tinyDir(), "--file", join(d, "dev.tsv"), "--json", "--quiet"]);
    expect(j.code).toBe(0);
    const objs = jsonl(j.stdout);
    for (let i = 0; i < ts.length; i++) {
      const alone = await model.classify(ts[i] + " ");
      expect(objs[i]).toEqual({ sentence: ts[i] + " ", label: String(i % 2), predicted_label: alone.label, score: alone.score, scores: alone.scores, logits: alone.logits, truncated: alone.truncated });
    }
    const plain = runCli(["classify", "--model", tinyDir(), "--file", join(d, "dev.tsv"), "--quiet"]);
    const first = await model.classify(ts[0] + " ");
    expect(plain.stdout.split("\n")[0]).toBe(`${first.label} ${first.score.toFixed(4)}${first.truncated ? " (truncated)" : ""}  ${ts[0]} `);
  });

  it("a line that is not UTF-8 stops the run with its line number (what was done is kept), or keeps its row with --skip-bad-lines", () => {
    const d = tmp();
    const file = join(d, "in.txt");
    writeFileSync(file, Buffer.concat([Buffer.from("fine\nalso fine\n"), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]), Buffer.from("last\n")]));
    const out = join(d, "out.jsonl");
    const bad = runCli(["classify", "--model", tinyDir(), "--file", file, "--out", out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`stopped at a bad record; the results of the 2 records before it are in ${out}\nerror: ${file}:3: is not valid UTF-8; expected a well-formed record (or --skip-bad-lines to skip such records)\n`);
    expect(readdirSync(d).sort()).toEqual(["in.txt", "out.jsonl"]);
    expect(jsonl(readFileSync(out, "utf8")).map((o) => o.text)).toEqual(["fine", "also fine"]);
    const skip = runCli(["classify", "--model", tinyDir(), "--file", file, "--out", out, "--skip-bad-lines"]);
    expect(skip.code).toBe(0);
    expect(skip.stderr).toMatch(new RegExp(`^warning: ${file}:3: is not valid UTF-8; skipped\\nclassified 3 texts .*; 1 bad record skipped; results in`));
    const rows = jsonl(readFileSync(out, "utf8"));
    expect(rows.map((o) => o.text)).toEqual(["fine", "also fine", undefined, "last"]);
    expect(rows[2]).toEqual({ label: null, score: null, scores: null, logits: null, truncated: null, skipped: "line 3: is not valid UTF-8" });
  });

  it("missing files and folders are named; unknown flags and misplaced options print usage and exit 2", () => {
    const d = tmp();
    const missing = runCli(["classify", "--model", tinyDir(), "--file", join(d, "nope.txt")]);
    expect(missing.code, missing.stderr).toBe(2);
    expect(missing.stderr).toBe(`error: ${join(d, "nope.txt")}: does not exist\n`);
    writeFileSync(join(d, "in.txt"), "x\n");
    const noDir = runCli(["classify", "--model", tinyDir(), "--file", join(d, "in.txt"), "--out", join(d, "no", "out.csv")]);
    expect(noDir.code, noDir.stderr).toBe(2);
    expect(noDir.stderr).toMatch(/^error: .*out\.csv: cannot be written: its folder .*no does not exist/);
    for (const args of [["--file", join(d, "in.txt"), "--bogus"], ["--out", "x.csv", "text"], ["--file"], ["--file", join(d, "in.txt"), "--out", join(d, "o.xml")], ["--file", join(d, "in.txt"), "--batch-size", "0"], ["--file", join(d, "in.txt"), "text"], ["--long", "sideways", "x"]]) {
      const r = runCli(["classify", "--model", tinyDir(), ...args]);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(/^error: .*\nusage: distilbert-ts classify/);
    }
    const stdinBad = runCli(["classify", "--model", tinyDir()], { input: Buffer.from([0x6f, 0x6b, 0x0a, 0xff, 0x0a]) });
    expect(stdinBad.code, stdinBad.stderr).toBe(2);
    expect(stdinBad.stdout).toMatch(/^(POSITIVE|NEGATIVE) [01]\.\d{4}  ok\n$/);
    expect(stdinBad.stderr).toBe("error: stdin:2: is not valid UTF-8; expected UTF-8 text (or --skip-bad-lines to skip such lines)\n");
  });

  // A FIFO is the only way to hold the input open; where mkfifo is missing (Windows) the test is skipped, saying so,
  // rather than passing without running; under CI (Linux) it must run.
  const noFifo = fifoUnavailable();
  it.skipIf(noFifo !== null && !process.env.CI)(`streams: results of the first batches are written before the input ends; SIGTERM leaves no output file${noFifo === null ? "" : ` [skipped here: ${noFifo}]`}`, async () => {
    const d = tmp();
    const fifo = join(d, "in.txt");
    const made = spawnSync("mkfifo", [fifo], { encoding: "utf8" });
    expect(made.status, `mkfifo failed: ${made.error?.message ?? made.stderr}`).toBe(0);
    const out = join(d, "out.jsonl");
    const child = spawn(process.execPath, [CLI, "classify", "--model", tinyDir(), "--file", fifo, "--out", out, "--batch-size", "10"], { stdio: ["ignore", "pipe", "pipe"] });
    // Whatever happens below, the child must not outlive the test (a FIFO with no writer would block it forever).
    onTestFinished(() => void (child.exitCode === null && child.signalCode === null && child.kill("SIGKILL")));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on("close", (code, signal) => r([code, signal])));
    // Read-write open: never blocks, unlike a write-only open of a FIFO that no reader has opened yet.
    const writer = createWriteStream(fifo, { flags: "r+" });
    writer.write(texts(50, 3).join("\n") + "\n");
    const tmpPath = `${out}.tmp-${child.pid}`;
    const deadline = Date.now() + 30_000;
    while (!(existsSync(tmpPath) && readFileSync(tmpPath, "utf8").split("\n").length > 50) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // 50 results are on disk while the input is still open: the file is not read whole before classifying.
    expect(readFileSync(tmpPath, "utf8").split("\n")).toHaveLength(51);
    expect(existsSync(out)).toBe(false);
    child.kill("SIGTERM");
    // The CLI removes its temporary file and dies of the signal, as a program killed by it should.
    expect(await exited).toEqual([null, "SIGTERM"]);
    writer.destroy();
    expect(existsSync(out)).toBe(false);
    expect(existsSync(tmpPath)).toBe(false);
  });

  it("on a terminal: a progress bar with texts/s on stderr, redrawn in place, then the summary", async () => {
    const d = tmp();
    writeFileSync(join(d, "in.txt"), texts(300, 4).join("\n") + "\n");
    let stderr = "";
    let stdout = "";
    const sink = (f: (s: string) => void) => new Writable({ write: (c, _e, cb) => (f(String(c)), cb()) });
    const io = { stdin: process.stdin, stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), env: {}, isTTY: true };
    // One thread: main() runs here from the TypeScript sources, where the pool's worker script (built to dist/) is not.
    const code = await main(["classify", "--model", tinyDir(), "--file", join(d, "in.txt"), "--out", join(d, "out.csv"), "--batch-size", "100", "--threads", "1"], io);
    expect(code, stderr).toBe(0);
    expect(stdout).toBe("");
    // The first batch always draws; later ones only if 100 ms have passed.
    expect(stderr).toMatch(/^\r\[[=> ]{20}\] +\d+%  100 texts  [\d.]+ texts\/s( {2}ETA \d+:\d\d)?\x1b\[K/);
    expect(stderr).toMatch(/\r\x1b\[Kclassified 300 texts in \d+:\d\d \([\d.]+ texts\/s\): .*results in .*out\.csv\n$/);
  });
});
