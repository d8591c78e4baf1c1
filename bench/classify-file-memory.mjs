// `classify --file` memory and speed at growing input sizes: peak RSS should not grow with the number of lines.
//
//   npm run build && node bench/classify-file-memory.mjs [--model DIR] [--lines 1000,10000,50000]
//
// Linux only (peak RSS is read from /proc/<pid>/status VmHWM while the CLI runs). Default model: the tiny fixture in
// ../shared/fixtures/tiny, so the numbers measure the file pipeline (reading, batching, writing), not the model.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const root = resolve(import.meta.dirname, "..");
const { values } = parseArgs({ options: { model: { type: "string" }, lines: { type: "string" } } });
const model = values.model ?? resolve(root, "../shared/fixtures/tiny");
const sizes = (values.lines ?? "1000,10000").split(",").map(Number);
const cli = join(root, "dist/node/cli.js");

const WORDS = ["good", "bad", "film", "movie", "great", "terrible", "plot", "acting", "the", "a", "was", "is", "not", "very", "boring", "fun"];
function makeFile(path, n) {
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const out = [];
  for (let i = 0; i < n; i++) out.push(Array.from({ length: 5 + (i % 40) }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(" "));
  writeFileSync(path, out.join("\n") + "\n");
}

function peakRss(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function run(args) {
  return new Promise((done) => {
    const started = performance.now();
    const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    let peak = 0;
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setInterval(() => (peak = Math.max(peak, peakRss(child.pid))), 20);
    child.on("close", (code) => {
      clearInterval(timer);
      done({ code, stderr, peak, seconds: (performance.now() - started) / 1000 });
    });
  });
}

/** Every result of the file run equals classifying that line alone (label and score, exactly). */
async function sameAsAlone(input, output) {
  const { loadModelFromDir } = await import(join(root, "dist/node/index.js"));
  const m = await loadModelFromDir(model);
  const lines = readFileSync(input, "utf8").split("\n").slice(0, -1);
  const results = readFileSync(output, "utf8").split("\n").slice(0, -1).map((l) => JSON.parse(l));
  let differ = 0;
  lines.forEach((t, i) => {
    const [alone] = m.classifySync([t]);
    if (results[i].text !== t || results[i].label !== alone.label || results[i].score !== alone.score) differ++;
  });
  return `${lines.length} lines: ${differ} results differ from classifying each line alone`;
}

/** The same run on a pseudo-terminal (util-linux \`script\`): how often the progress bar was redrawn, and its last state. */
async function onTerminal(input, output) {
  const quote = (a) => `'${a.replaceAll("'", "'\\''")}'`;
  const cmd = [process.execPath, cli, "classify", "--model", model, "--file", input, "--out", output].map(quote).join(" ");
  const child = spawn("script", ["-qfec", cmd, "/dev/null"], { stdio: ["ignore", "pipe", "pipe"] });
  let screen = "";
  child.stdout.on("data", (d) => (screen += d));
  const code = await new Promise((r) => child.on("close", r));
  const frames = screen.split("\r").filter((f) => f.startsWith("["));
  return `on a terminal (exit ${code}): ${frames.length} progress redraws, the last: ${JSON.stringify(frames.at(-1)?.replace(/\x1b\[K.*$/s, ""))}`;
}

const checks = [];
const dir = mkdtempSync(join(tmpdir(), "distilbert-ts-bench-"));
try {
  console.log(`model ${model}; node ${process.version}`);
  console.log("lines    input      peak RSS   wall s   summary");
  for (const n of sizes) {
    const input = join(dir, `in-${n}.txt`);
    makeFile(input, n);
    const r = await run(["classify", "--model", model, "--file", input, "--out", join(dir, `out-${n}.jsonl`)]);
    if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
    const outLines = readFileSync(join(dir, `out-${n}.jsonl`), "utf8").split("\n").length - 1;
    if (outLines !== n) throw new Error(`${outLines} results for ${n} lines`);
    const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
    console.log(`${String(n).padEnd(8)} ${mb(statSync(input).size).padEnd(10)} ${mb(r.peak).padEnd(10)} ${r.seconds.toFixed(1).padEnd(8)} ${r.stderr.trim()}`);
    if (n <= 10_000) {
      checks.push(await sameAsAlone(input, join(dir, `out-${n}.jsonl`)));
      checks.push(await onTerminal(input, join(dir, `tty-${n}.jsonl`)));
    }
  }
  console.log(checks.join("\n"));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
