// After tsc: the browser bundle and the precompilable kernels.
//  - dist/browser/distilbert-ts.min.js: src/index.ts as one minified ES module with no imports (the core: any JS
//    runtime). Its raw / minified / gzip -9 sizes are printed and written to dist/browser/size.json; the gzip figure
//    has a budget of 58 KB (40 KB until issue 15: the model-folder tokenizer loader and text pairs, every head
//    and the task pipelines joined the core; the q8 path added ~5 KB: its rules, the JS q8 GEMM, the q8 emitters).
//  - dist/browser/web-worker.js: the wasm backend's thread-pool worker, which the bundle's default worker factory
//    loads from next to itself (new URL("./web-worker.js", import.meta.url)).
//  - dist/wasm/kernels.wasm: the wasm backend's kernels (SIMD, not relaxed, unshared memory), for hosts that may
//    instantiate but not compile WebAssembly (Cloudflare Workers import it as a WebAssembly.Module and pass it as
//    `wasmModule`). Written from the built dist/ (wasmKernelBytes), so it always matches the code.
// Fails when a bundle imports anything (a `node:` module above all): a browser cannot resolve a bare import.
import { build } from "esbuild";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(root, "dist/browser");
// Heads and pipelines are what most DistilBERT checkpoints need, in any runtime: they are core, not a plugin.
const BUDGET_GZIP_BYTES = 58 * 1024;

const common = {
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  // Nothing may be external: an unresolvable import (node:*, a package) fails the build instead of shipping.
  external: [],
  legalComments: "none",
  logLevel: "warning",
  metafile: true,
  // No keepNames: nothing reads a class's or function's own name (the error classes spell theirs out), and keeping
  // them costs about 2 KB gzipped.
};

/** Bundles one entry; returns the minified code after writing it (and its source map). */
async function bundle(entry, outName, { measureRaw = false } = {}) {
  const outfile = join(outDir, outName);
  const min = await build({ ...common, entryPoints: [join(root, entry)], outfile, minify: true, sourcemap: "external", write: false });
  const code = min.outputFiles.find((f) => f.path.endsWith(".js")).contents;
  const imports = Object.values(min.metafile.outputs).flatMap((o) => o.imports ?? []);
  if (imports.length > 0) {
    console.error(`bundle: ${entry} imports ${imports.map((i) => i.path).join(", ")}; expected no imports`);
    process.exit(1);
  }
  const text = new TextDecoder().decode(code);
  if (/\bfrom\s*["']node:|import\(\s*["']node:|require\(/.test(text)) {
    console.error(`bundle: ${outName} mentions a node: import or require(); expected neither`);
    process.exit(1);
  }
  mkdirSync(outDir, { recursive: true });
  for (const f of min.outputFiles) writeFileSync(f.path, f.contents);
  let raw = null;
  if (measureRaw) {
    const r = await build({ ...common, entryPoints: [join(root, entry)], outfile, minify: false, write: false });
    raw = r.outputFiles.find((f) => f.path.endsWith(".js")).contents.length;
  }
  return { file: relative(root, outfile), code, raw };
}

const core = await bundle("src/index.ts", "distilbert-ts.min.js", { measureRaw: true });
const worker = await bundle("src/tensor/wasm/web-worker.ts", "web-worker.js");
// The TEI-compatible request handler with the core, one module for Deno, Bun and Workers (no budget: servers only).
const server = await bundle("src/server/index.ts", "server.min.js");

const sizes = {
  file: core.file,
  raw: core.raw,
  minified: core.code.length,
  gzip: gzipSync(core.code, { level: 9 }).length,
  budgetGzip: BUDGET_GZIP_BYTES,
  worker: { file: worker.file, minified: worker.code.length, gzip: gzipSync(worker.code, { level: 9 }).length },
  server: { file: server.file, minified: server.code.length, gzip: gzipSync(server.code, { level: 9 }).length },
};
writeFileSync(join(outDir, "size.json"), JSON.stringify(sizes, null, 2) + "\n");

const { wasmKernelBytes } = await import(pathToFileURL(join(root, "dist/index.js")).href);
const kernels = wasmKernelBytes();
mkdirSync(join(root, "dist/wasm"), { recursive: true });
writeFileSync(join(root, "dist/wasm/kernels.wasm"), kernels);

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(
  `bundle: ${sizes.file}  raw ${kb(sizes.raw)} (${sizes.raw} B), minified ${kb(sizes.minified)} (${sizes.minified} B), ` +
    `gzip -9 ${kb(sizes.gzip)} (${sizes.gzip} B); budget ${kb(BUDGET_GZIP_BYTES)}` +
    ` | ${worker.file} ${kb(sizes.worker.minified)} (gzip ${kb(sizes.worker.gzip)}) | ${server.file} ${kb(sizes.server.minified)} (gzip ${kb(sizes.server.gzip)})` +
    ` | dist/wasm/kernels.wasm ${kernels.length} B`,
);
if (sizes.gzip >= BUDGET_GZIP_BYTES) {
  console.error(`bundle: gzip size ${sizes.gzip} B is over the budget of ${BUDGET_GZIP_BYTES} B`);
  process.exit(1);
}
