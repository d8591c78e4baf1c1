/**
 * This core's ceiling for 128-bit WebAssembly SIMD: a loop of nothing but independent f32x4 multiply-adds on
 * registers, no memory (relaxed_madd where the engine has relaxed SIMD, mul + add otherwise: the instruction the
 * GEMM micro-kernel issues). No kernel built from that instruction can beat it, so the bench measures it beside the
 * engines, in the same process and minutes, where the host's drifting speed moves both alike; bench/gemm-tiles.mjs
 * uses it to show how many accumulators the core needs.
 */
import { ModuleBuilder } from "../src/tensor/wasm/assembler.js";

export interface FmaPeakProbe {
  readonly instruction: "relaxed_madd" | "mul + add";
  readonly accumulators: number;
  /** Run for about `ms` milliseconds; GFLOP/s of that run (8 FLOP per f32x4 multiply-add). */
  run(ms?: number): number;
}

export function fmaPeakProbe(relaxed: boolean, accumulators = 12): FmaPeakProbe {
  const mod = new ModuleBuilder();
  mod.importMemory({ module: "env", name: "memory", initialPages: 1, shared: false });
  const fn = mod.declare(["i32"], ["f32"]);
  fn.define((f) => {
    const acc = Array.from({ length: accumulators }, () => f.local("v128"));
    const x = f.local("v128");
    const w = f.local("v128");
    // Factors near 1 keep the sums normal (subnormals would take microcode assists) for any iteration count here.
    f.f32(1.0000001).op("f32x4.splat").set(x);
    f.f32(0.9999999).op("f32x4.splat").set(w);
    for (const a of acc) f.f32(0).op("f32x4.splat").set(a);
    f.loop((top) => {
      for (const a of acc) {
        if (relaxed) f.get(x).get(w).get(a).op("f32x4.relaxed_madd").set(a);
        else f.get(a).get(x).get(w).op("f32x4.mul").op("f32x4.add").set(a);
      }
      f.get(0).i32(1).op("i32.sub").tee(0).brIf(top);
    });
    // Return the sum so that no accumulator is dead code.
    f.get(acc[0]);
    for (let i = 1; i < accumulators; i++) f.get(acc[i]).op("f32x4.add");
    f.lane("f32x4.extract_lane", 0);
  });
  mod.exportFunction("run", fn.index);
  const memory = new WebAssembly.Memory({ initial: 1 });
  const loop = new WebAssembly.Instance(new WebAssembly.Module(mod.encode()), { env: { memory } }).exports.run as (n: number) => number;
  let perMs = 1e4;
  const probe: FmaPeakProbe = {
    instruction: relaxed ? "relaxed_madd" : "mul + add",
    accumulators,
    run(ms = 5) {
      const iters = Math.max(1000, Math.round(perMs * ms));
      const t0 = performance.now();
      loop(iters);
      const dt = Math.max(performance.now() - t0, 1e-3);
      perMs = iters / dt;
      return (iters * accumulators * 8) / dt / 1e6;
    },
  };
  // V8 first runs the baseline tier and swaps in the optimised code after a while: warm up before any run counts.
  for (let i = 0; i < 4; i++) probe.run(10);
  return probe;
}
