/**
 * This core's ceiling for the int8 dot product the q8 GEMM issues, as bench/fma-peak.ts is for f32: a loop of nothing
 * but independent dot instructions on registers. Relaxed SIMD: i32x4.relaxed_dot_i8x16_i7x16_add_s (16 multiply-adds);
 * plain SIMD: i32x4.dot_i16x8_s + i32x4.add (8 multiply-adds, from operands already widened to i16, which is
 * what the plain kernel issues per pair of channels). GOP/s count 2 ops per multiply-add.
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { ModuleBuilder } = await import(join(root, "dist/tensor/wasm/assembler.js"));

export function dotPeak(relaxed, accumulators = 10) {
  const mod = new ModuleBuilder();
  mod.importMemory({ module: "env", name: "memory", initialPages: 1, shared: false });
  const fn = mod.declare(["i32"], ["i32"]);
  fn.define((f) => {
    const acc = Array.from({ length: accumulators }, () => f.local("v128"));
    const a = f.local("v128");
    const b = f.local("v128");
    f.i32(0x01020304).op("i32x4.splat").set(a);
    f.i32(0x05060708).op("i32x4.splat").set(b);
    for (const x of acc) f.i32(0).op("i32x4.splat").set(x);
    f.loop((top) => {
      for (const x of acc) {
        if (relaxed) f.get(a).get(b).get(x).op("i32x4.relaxed_dot_i8x16_i7x16_add_s").set(x);
        else f.get(x).get(a).get(b).op("i32x4.dot_i16x8_s").op("i32x4.add").set(x);
      }
      f.get(0).i32(1).op("i32.sub").tee(0).brIf(top);
    });
    f.get(acc[0]);
    for (let i = 1; i < accumulators; i++) f.get(acc[i]).op("i32x4.add");
    f.lane("i32x4.extract_lane", 0);
  });
  mod.exportFunction("run", fn.index);
  const memory = new WebAssembly.Memory({ initial: 1 });
  const loop = new WebAssembly.Instance(new WebAssembly.Module(mod.encode()), { env: { memory } }).exports.run;
  const opsPerInstr = relaxed ? 32 : 16;
  let perMs = 1e4;
  const probe = {
    instruction: relaxed ? "relaxed_dot_i8x16_i7x16_add_s" : "dot_i16x8_s + add",
    run(ms = 5) {
      const iters = Math.max(1000, Math.round(perMs * ms));
      const t0 = performance.now();
      loop(iters);
      const dt = Math.max(performance.now() - t0, 1e-3);
      perMs = iters / dt;
      return (iters * accumulators * opsPerInstr) / dt / 1e6;
    },
  };
  for (let i = 0; i < 4; i++) probe.run(10);
  return probe;
}
