/** The CLI contract of classify, tokenize and inspect, run as a subprocess on the fixture model. */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, startCli } from "./helpers/cli.js";
import { tinyDir, tinyExpected } from "./helpers/fixture.js";
import { requireShared } from "./helpers/shared.js";

describe("CLI", () => {
  const model = () => tinyDir();

  it("classify TEXT prints `LABEL score  text`, one line per text", () => {
    const r = runCli(["classify", "--model", model(), "hello world", "a second text"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^(POSITIVE|NEGATIVE) [01]\.\d{4}  hello world$/);
    expect(lines[1]).toMatch(/^(POSITIVE|NEGATIVE) [01]\.\d{4}  a second text$/);
  });

  it("classify --json gives the documented fields; the fixture's 'hello world' ids give its expected logits", () => {
    const r = runCli(["classify", "--model", model(), "--json", "hello world"]);
    expect(r.code).toBe(0);
    const obj = JSON.parse(r.stdout);
    expect(Object.keys(obj)).toEqual(["text", "label", "score", "scores", "logits", "tokens", "truncated"]);
    expect(obj.tokens).toEqual(["[CLS]", "hello", "world", "[SEP]"]);
    const c = tinyExpected().cases.find((x) => x.name === "hello_world")!;
    expect(c.input_ids[0]).toEqual([101, 7592, 2088, 102]);
    obj.logits.forEach((v: number, j: number) => expect(Math.abs(v - c.logits[0][j])).toBeLessThanOrEqual(1e-4));
    expect(obj.label).toBe(c.predicted[0]);
    expect(obj.truncated).toBe(false);
    expect(Math.abs(obj.scores.POSITIVE + obj.scores.NEGATIVE - 1)).toBeLessThan(1e-9);
  });

  it("classify from stdin answers each line as it arrives", async () => {
    const p = startCli(["classify", "--model", model(), "--json"]);
    p.write("first line\n");
    const first = JSON.parse(await p.nextLine());
    expect(first.text).toBe("first line");
    p.write("second line\r\n"); // CRLF input is one line too
    const second = JSON.parse(await p.nextLine());
    expect(second.text).toBe("second line");
    p.end();
    expect(await p.exited).toBe(0);
  });

  it("tokenize --vocab gives input_ids, tokens and offsets; stdin gives one object per line", () => {
    const vocab = join(requireShared(), "data/bert-base-uncased-vocab.txt");
    const r = runCli(["tokenize", "--vocab", vocab, "--json", "Hello, my dog is cute"]);
    expect(r.code).toBe(0);
    const obj = JSON.parse(r.stdout);
    expect(obj.input_ids).toEqual([101, 7592, 1010, 2026, 3899, 2003, 10140, 102]);
    expect(obj.tokens[1]).toBe("hello");
    expect(obj.offsets[1]).toEqual([0, 5]);
    const s = runCli(["tokenize", "--model", model(), "--json"], { input: "a\nb c\n" });
    const lines = s.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => l.tokens)).toEqual([["[CLS]", "a", "[SEP]"], ["[CLS]", "b", "c", "[SEP]"]]);
  });

  it("inspect --json --ids returns hidden states [n_layers+1][T][dim] and attentions [n_layers][H][T][T] matching the fixture", () => {
    const c = tinyExpected().cases.find((x) => x.name === "hello_world")!;
    const r = runCli(["inspect", "--model", model(), "--json", "--ids", c.input_ids[0].join(",")]);
    expect(r.code).toBe(0);
    const obj = JSON.parse(r.stdout);
    expect(Object.keys(obj)).toEqual(["architecture", "input_ids", "tokens", "logits", "probs", "hidden_states", "attentions"]);
    const cfg = JSON.parse(readFileSync(join(model(), "config.json"), "utf8"));
    expect(obj.hidden_states).toHaveLength(cfg.n_layers + 1);
    expect(obj.hidden_states[0]).toHaveLength(4);
    expect(obj.hidden_states[0][0]).toHaveLength(cfg.dim);
    expect(obj.attentions).toHaveLength(cfg.n_layers);
    expect(obj.attentions[0]).toHaveLength(cfg.n_heads);
    expect(obj.attentions[0][0][0]).toHaveLength(4);
    let worst = 0;
    c.hidden_states!.forEach((l, i) => l[0].forEach((row, t) => row.forEach((v, d) => (worst = Math.max(worst, Math.abs(v - obj.hidden_states[i][t][d]))))));
    c.attentions!.forEach((l, i) => l[0].forEach((h, hh) => h.forEach((row, t) => row.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - obj.attentions[i][hh][t][k])))))));
    expect(worst).toBeLessThanOrEqual(1e-4);
  });

  it("bad input exits 2 with one `error:` line and no stack trace; --debug adds the stack", () => {
    const missing = runCli(["classify", "--model", "/nonexistent/model", "x"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: .*\/nonexistent\/model/);
    expect(missing.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    const debug = runCli(["classify", "--model", "/nonexistent/model", "--debug", "x"]);
    expect(debug.code).toBe(2);
    expect(debug.stderr).toMatch(/\n\s+at /);
    const badIds = runCli(["inspect", "--model", model(), "--json", "--ids", "101,99999999,102"]);
    expect(badIds.code).toBe(2);
    expect(badIds.stderr).toMatch(/^error: input_ids: id 99999999/);
  });

  it("unknown flags, unknown commands and missing arguments print usage and exit 2", () => {
    const flag = runCli(["classify", "--model", model(), "--bogus"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^error: classify: unknown option --bogus; expected one of --help, --debug, --check-weights, --dtype, --threads, --model, --json, /);
    expect(flag.stderr).toMatch(/usage: distilbert-ts classify/);
    const cmd = runCli(["frobnicate"]);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toMatch(/unknown command "frobnicate"/);
    const none = runCli(["inspect", "--model", model(), "--json"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^error: inspect: nothing to inspect/);
    expect(runCli([]).code).toBe(2);
    expect(runCli(["--help"]).code).toBe(0);
  });
});
