/**
 * classify --file past one machine: --shard K/N in separate processes whose union is exactly one run's output, and
 * --resume after a SIGKILL midway (plus a torn last batch) giving exactly one run's output: nothing lost, nothing
 * duplicated.
 */
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tinyDir } from "./helpers/fixture.js";
import { CLI, runCli } from "./helpers/cli.js";
import { tempDir } from "./runtimes/helpers.js";

const tmp = tempDir("shard");
afterAll(() => tmp.cleanup());

const N = 600;
const input = join(tmp.dir, "in.jsonl");
writeFileSync(input, Array.from({ length: N }, (_, i) => JSON.stringify({ id: i, text: `review ${i}: ${["great", "awful", "fine, I guess", "a mess"][i % 4]}` }) + "\n").join(""));
const cli = (args: string[], env: Record<string, string> = {}) => runCli(["classify", "--model", tinyDir(), "--file", input, "-q", ...args], { env });

describe("classify --shard / --resume", () => {
  let whole: string[] = [];

  it("3 shards as separate processes: shard k holds records k, k+3, …; their union is one run's output", async () => {
    const all = join(tmp.dir, "all.jsonl");
    expect(cli(["--out", all]).code).toBe(0);
    whole = readFileSync(all, "utf8").trimEnd().split("\n");
    expect(whole.length).toBe(N);
    const shards = await Promise.all(
      [0, 1, 2].map(
        (k) =>
          new Promise<string[]>((resolve, reject) => {
            const out = join(tmp.dir, `shard-${k}.jsonl`);
            const child = spawn(process.execPath, [CLI, "classify", "--model", tinyDir(), "--file", input, "-q", "--shard", `${k}/3`, "--out", out]);
            child.on("exit", (code) => (code === 0 ? resolve(readFileSync(out, "utf8").trimEnd().split("\n")) : reject(new Error(`shard ${k} exited ${code}`))));
          }),
      ),
    );
    shards.forEach((lines, k) => expect(lines).toEqual(whole.filter((_, i) => i % 3 === k)));
    expect(shards.flat().sort()).toEqual([...whole].sort());
  });

  it("--shard auto/N takes K from JOB_COMPLETION_INDEX; bad values are usage errors", () => {
    const out = join(tmp.dir, "auto.jsonl");
    expect(cli(["--shard", "auto/4", "--out", out], { JOB_COMPLETION_INDEX: "2" }).code).toBe(0);
    expect(readFileSync(out, "utf8").trimEnd().split("\n")).toEqual(whole.filter((_, i) => i % 4 === 2));
    for (const [args, env] of [
      [["--shard", "3/3"], {}],
      [["--shard", "auto/3"], { JOB_COMPLETION_INDEX: "5" }],
      [["--resume"], {}],
    ] as const) {
      const r = cli([...args], env);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/^error: --(shard|resume)/);
    }
  });

  it("--resume after SIGKILL midway and a torn last batch: the result is exactly one run's output", async () => {
    const out = join(tmp.dir, "resumed.jsonl");
    const journal = `${out}.partial.journal`;
    const child = spawn(process.execPath, [CLI, "classify", "--model", tinyDir(), "--file", input, "-q", "--resume", "--batch-size", "2", "--out", out]);
    const exited = new Promise((r) => child.on("exit", r));
    // Kill it once a few batches are journaled (bounded: the whole run takes a few seconds at most).
    for (let i = 0; i < 3000; i++) {
      if (existsSync(journal) && readFileSync(journal, "utf8").split("\n").length > 20) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill("SIGKILL");
    await exited;
    const done = Number(readFileSync(journal, "utf8").trimEnd().split("\n").at(-1)!.split(" ")[0]);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(N);
    expect(existsSync(out)).toBe(false);
    // A kill between a batch's data and its journal line leaves a tail the journal does not count.
    appendFileSync(`${out}.partial`, '{"id":99999,"text":"half a rec');
    const r = cli(["--resume", "--batch-size", "2", "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, "utf8").trimEnd().split("\n")).toEqual(whole);
    expect(existsSync(`${out}.partial`) || existsSync(journal)).toBe(false);
  });

  it("--resume keeps a CSV's header once, and refuses a partial file left by another run", () => {
    const csv = join(tmp.dir, "in.csv");
    writeFileSync(csv, "id,text\n" + Array.from({ length: 30 }, (_, i) => `${i},text ${i}\n`).join(""));
    const full = join(tmp.dir, "full.csv");
    expect(runCli(["classify", "--model", tinyDir(), "--file", csv, "-q", "--out", full]).code).toBe(0);
    const out = join(tmp.dir, "part.csv");
    // A journal as a run killed after 10 records leaves it.
    const lines = readFileSync(full, "utf8").split("\n");
    const head = lines.slice(0, 11).join("\n") + "\n";
    writeFileSync(`${out}.partial`, head);
    writeFileSync(`${out}.partial.journal`, JSON.stringify({ input: csv, size: readFileSync(csv).length, format: "csv", text: "text", shard: null, long: { long: "truncate" } }) + `\n10 ${Buffer.byteLength(head)}\n`);
    const r = runCli(["classify", "--model", tinyDir(), "--file", csv, "-q", "--resume", "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, "utf8")).toBe(readFileSync(full, "utf8"));
    writeFileSync(`${out}.partial`, "x");
    writeFileSync(`${out}.partial.journal`, '{"input":"another.csv"}\n1 1\n');
    const refused = runCli(["classify", "--model", tinyDir(), "--file", csv, "-q", "--resume", "--out", out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/was left by a run with another input/);
  });
});
