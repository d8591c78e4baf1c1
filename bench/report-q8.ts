/** The q8 part of the bench report (issue 14): ratios, fidelity, the int8 GEMM against its ceiling, size and memory. */
import type { BenchResult, Target } from "./report.js";
import type { GroupResult } from "./spec.js";

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "-");
const med = (g: GroupResult | undefined, label: string, id: string) => g?.workloads.find((w) => w.label === label)?.times[id]?.median;

/** Workloads the q8 targets are judged on: 1x128, 8x32 and the SST-2 pass(es). */
function judged(r: BenchResult): string[] {
  const labels = new Set<string>();
  for (const g of r.groups) for (const w of g.workloads) if (w.label === "1x128" || w.label === "8x32" || w.kind === "sst2") labels.add(w.label);
  return [...labels];
}

export function renderQ8(r: BenchResult): string[] {
  if (r.q8 === null) return [];
  const out: string[] = ["", "q8 (int8 weights and activations; --backend q8)"];
  const q = r.q8;
  out.push(
    `  files: ours ${q.dir}/model.safetensors ${f(q.weightsBytes / 1e6)} MB (f32 ${f(r.model.weightsBytes / 1e6)} MB)` +
      (q.onnx !== null && q.onnxBytes !== null ? `; peers' q8 ONNX ${q.onnx} ${f(q.onnxBytes / 1e6)} MB` : ""),
  );
  for (const l of r.load.filter((x) => x.backend === "q8" && !x.error)) {
    const m = l.memoryMb;
    const total = m ? m.heapUsed + m.arrayBuffers + m.wasm : NaN;
    out.push(
      `  load, q8 ${l.threads}t (fresh process): ready in ${f(l.readyMs, 0)} ms, peak RSS ${f(l.rssAfterRunMb, 0)} MB after a 1x128 run` +
        (m ? `; heap ${f(m.heapUsed)} + ArrayBuffers ${f(m.arrayBuffers)} + wasm ${f(m.wasm)} = ${f(total)} MB` : ""),
    );
  }
  // Ratios: the peer's time over ours-q8's (above 1: ours is faster), per group, from the same process.
  const peers = ["ort-web-q8", "ort-node-q8", "ort-node", "ort-web", "ours-wasm"];
  for (const g of r.groups) {
    for (const l of judged(r)) {
      const ours = med(g, l, "ours-q8");
      if (ours === undefined) continue;
      const parts = peers.flatMap((p) => {
        const t = med(g, l, p);
        return t === undefined ? [] : [`${p} ${f(t)} ms (${f(t / ours, 2)}×)`];
      });
      out.push(`  ${g.threads}t ${l}: ours-q8 ${f(ours)} ms; ${parts.join(", ")}`);
    }
  }
  for (const g of r.groups) {
    for (const w of g.workloads) {
      if (w.kind !== "sst2" || w.fidelity === undefined) continue;
      const rows = Object.entries(w.fidelity).map(
        ([id, v]) => `${id}: mean |Δ| ${v.meanAbs.toExponential(2)}, max ${v.maxAbs.toExponential(2)}, labels agree ${v.agree}/${v.n}`,
      );
      out.push(`  fidelity vs ours-wasm f32 logits, ${g.threads}t ${w.label}: ${rows.join("; ")}`);
    }
  }
  if (q.kernels !== null) out.push("  int8 GEMM alone (bench/q8-gemm.mjs --T 128, one thread):", ...q.kernels.trimEnd().split("\n").map((l) => `    ${l}`));
  return out;
}

export function judgeQ8(r: BenchResult): Target[] {
  if (r.q8 === null) return [];
  const t: Target[] = [];
  for (const g of r.groups) {
    for (const l of judged(r)) {
      const ours = med(g, l, "ours-q8");
      const web = med(g, l, "ort-web-q8");
      t.push({
        name: `q8 ≥ 2× onnxruntime-web q8 at ${l}, ${g.threads}t`,
        status: ours !== undefined && web !== undefined ? (web / ours >= 2 ? "met" : "not met") : "not measured",
        detail: ours !== undefined && web !== undefined ? `${f(web / ours, 2)}×` : "needs ours-q8 and ort-web-q8",
      });
      if (g.threads === 1 && (l === "1x128" || l.startsWith("SST-2"))) {
        const node = med(g, l, "ort-node");
        t.push({
          name: `q8 1t faster than onnxruntime-node fp32 1t at ${l}`,
          status: ours !== undefined && node !== undefined ? (node > ours ? "met" : "not met") : "not measured",
          detail: ours !== undefined && node !== undefined ? `ort-node fp32 ${f(node)} ms / ours-q8 ${f(ours)} ms = ${f(node / ours, 2)}×` : "needs ours-q8 and ort-node",
        });
      }
    }
  }
  for (const g of r.groups) {
    for (const w of g.workloads) {
      if (w.kind !== "sst2" || !w.fidelity) continue;
      const a = w.fidelity["ours-q8"];
      const b = w.fidelity["ort-web-q8"];
      t.push({
        name: `q8 fidelity on ${w.label} (${g.threads}t): mean and max |error| ≤ onnxruntime-web q8's, label agreement ≥ its`,
        status: a && b ? (a.meanAbs <= b.meanAbs && a.maxAbs <= b.maxAbs && a.agree >= b.agree ? "met" : "not met") : "not measured",
        detail: a && b
          ? `ours mean ${a.meanAbs.toExponential(2)} max ${a.maxAbs.toExponential(2)} agree ${a.agree}/${a.n}; ort-web-q8 mean ${b.meanAbs.toExponential(2)} max ${b.maxAbs.toExponential(2)} agree ${b.agree}/${b.n}`
          : "needs ours-q8, ort-web-q8 and ours-wasm on SST-2",
      });
    }
  }
  const k = r.q8.kernels;
  if (k !== null) {
    const shares = [...k.matchAll(/-> (\d+)%/g)].map((m) => Number(m[1]));
    const gemm = shares.slice(0, -1);
    t.push({
      name: "int8 GEMM ≥ 75% of the dot instruction's ceiling (each real shape, 1 thread, T = 128)",
      status: gemm.length > 0 ? (Math.min(...gemm) >= 75 ? "met" : "not met") : "not measured",
      detail: gemm.length > 0 ? `${gemm.join("%, ")}%` : "",
    });
  }
  const q1 = r.groups.find((g) => g.threads === 1);
  const w128 = q1?.workloads.find((w) => w.label === "1x128");
  const s = w128?.times["ours-q8"];
  const ceiling = k === null ? undefined : Number(/best ceiling \(([\d.]+) GOP\/s\)/.exec(k)?.[1]);
  t.push({
    name: "whole q8 forward ≥ 60% of the dot ceiling (1x128, 1 thread)",
    status: w128 && s && ceiling ? ((w128.oursFlops / s.median / 1e6 / ceiling) >= 0.6 ? "met" : "not met") : "not measured",
    detail: w128 && s && ceiling ? `${f(w128.oursFlops / s.median / 1e6, 1)} GOP/s of ${f(ceiling, 1)} = ${f((100 * w128.oursFlops) / s.median / 1e6 / ceiling, 0)}%` : "needs ours-q8 at 1t and bench/q8-gemm.mjs",
  });
  const load = r.load.find((l) => l.backend === "q8" && l.threads === 1 && !l.error);
  t.push({
    name: "full-size q8 model loads in < 0.5 s",
    status: load ? (load.readyMs < 500 ? "met" : "not met") : "not measured",
    detail: load ? `${f(load.readyMs, 0)} ms` : "",
  });
  t.push({
    name: "q8 size ≤ 70 MB",
    status: r.q8.weightsBytes <= 70e6 ? "met" : "not met",
    detail: `${f(r.q8.weightsBytes / 1e6)} MB`,
  });
  return t;
}
