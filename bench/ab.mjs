#!/usr/bin/env node
/**
 * A/B: the same model on two builds of this engine, loaded side by side in one process and called alternately, so
 * that a machine whose speed drifts (a shared host) slows both alike. How each kernel change's gain was measured.
 *
 *   git worktree add /tmp/old <commit> && (cd /tmp/old && ln -s "$PWD/../main/node_modules" . && npx tsc -p tsconfig.build.json)
 *   node bench/ab.mjs --old /tmp/old --model DIR [--new .] [--shapes 1x128,8x32] [--threads 1] [--reps 12]
 *     [--backend wasm|js] [--clock wall|cpu]
 *
 * --old/--new are repository checkouts with a built dist/. Prints min and median ms per build and shape, and both
 * builds' logits of the first sequence (they should agree to float32 rounding, or bit for bit for a pure speed-up).
 * --clock cpu times each call by this process's CPU time (process.cpuUsage) instead of the wall clock: on a host
 * shared with many other jobs the wall clock mostly measures waiting for a core; with one thread CPU time does not.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    old: { type: "string" },
    new: { type: "string", default: "." },
    model: { type: "string" },
    shapes: { type: "string", default: "1x128,8x32" },
    threads: { type: "string", default: "1" },
    reps: { type: "string", default: "12" },
    backend: { type: "string", default: "wasm" },
    clock: { type: "string", default: "wall" },
  },
});
if (values.old === undefined || values.model === undefined) {
  console.error("usage: node bench/ab.mjs --old CHECKOUT --model DIR [--new CHECKOUT] [--shapes 1x128,8x32] [--threads 1] [--reps 12] [--backend wasm|js] [--clock wall|cpu]");
  process.exit(2);
}
const threads = Number(values.threads);
const reps = Number(values.reps);
/** ms of one call of fn, by the chosen clock. */
const timed = (fn) => {
  if (values.clock === "cpu") {
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000;
  }
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
};
const builds = {};
for (const k of ["old", "new"]) {
  const lib = await import(pathToFileURL(resolve(values[k], "dist/node/index.js")).href);
  builds[k] = await lib.loadModelFromDir(values.model, { backend: values.backend, threads });
}
for (const s of values.shapes.split(",")) {
  const [B, T] = s.split("x").map(Number);
  const ids = Array.from({ length: B }, (_, b) => [101, ...Array.from({ length: T - 2 }, (_, i) => 1000 + ((i * 7919 + b * 31) % 28000)), 102]);
  for (const m of Object.values(builds)) for (let i = 0; i < 4; i++) m.logitsOf(ids);
  const times = { old: [], new: [] };
  for (let r = 0; r < reps; r++) {
    for (const k of r % 2 ? ["old", "new"] : ["new", "old"]) {
      times[k].push(timed(() => builds[k].logitsOf(ids)));
    }
  }
  const stat = (v) => {
    v.sort((a, b) => a - b);
    return `min ${v[0].toFixed(1)} median ${v[v.length >> 1].toFixed(1)}`;
  };
  const logits = (k) => Array.from(builds[k].logitsOf(ids)[0]).map((x) => x.toFixed(6)).join(", ");
  console.log(`${s}, ${values.backend}, ${threads} thread(s), ${values.clock} ms: old ${stat(times.old)} | new ${stat(times.new)} | logits old [${logits("old")}] new [${logits("new")}]`);
}
for (const m of Object.values(builds)) m.backend.dispose?.();
