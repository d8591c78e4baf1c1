/**
 * What `npm pack` ships, and that it works from the outside: the tarball is unpacked into a scratch project's
 * node_modules, then imported by Node (both entry points), bundled by esbuild for the browser and for Node (the
 * `exports` conditions), and type-checked by tsc as a consumer would. Also the core bundle's size budget.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JsBackend } from "../src/tensor/js-backend.js";
import { wasmKernelBytes } from "../src/tensor/wasm/backend.js";
import { loadTiny, tinyDir } from "./helpers/fixture.js";
import { repoRoot } from "./helpers/shared.js";
import { run, systemNode, tempDir } from "./runtimes/helpers.js";

interface PackFile {
  path: string;
  size: number;
}

const BUNDLE = join(repoRoot, "dist/browser/distilbert-ts.min.js");
const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  license: string;
  exports: Record<string, Record<string, string>>;
  main: string;
  types: string;
};

function npmPackList(): PackFile[] {
  // --ignore-scripts: `prepare` would rebuild; the global setup already built dist/.
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: repoRoot, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return (JSON.parse(out) as { files: PackFile[] }[])[0].files;
}

describe("npm pack", () => {
  const files = npmPackList();
  const paths = files.map((f) => f.path);

  it("ships the built code, its types, README and the Apache-2.0 LICENSE, and nothing from tests, sources or benches", () => {
    for (const p of ["package.json", "README.md", "LICENSE", "dist/index.js", "dist/index.d.ts", "dist/node/index.js", "dist/node/index.d.ts", "dist/node/cli.js", "dist/browser/distilbert-ts.min.js", "dist/browser/web-worker.js", "dist/wasm/kernels.wasm"]) {
      expect(paths, p).toContain(p);
    }
    // Every target of the exports map, main and types is in the tarball.
    const targets = [pkg.main, pkg.types, ...Object.values(pkg.exports).flatMap((e) => (typeof e === "string" ? [e] : Object.values(e)))];
    for (const t of targets) expect(paths, `exports target ${t}`).toContain(t.replace(/^\.\//, ""));
    // Every module has its declaration file.
    for (const p of paths.filter((x) => x.startsWith("dist/") && x.endsWith(".js") && !x.startsWith("dist/browser/"))) {
      expect(paths, `types for ${p}`).toContain(p.replace(/\.js$/, ".d.ts"));
    }
    const forbidden = paths.filter((p) => /^(test|src|bench|dist-bench|demo|scripts|weights|node_modules|\.ci)\//.test(p) || /(^|\/)fixtures?\//.test(p) || (/\.ts$/.test(p) && !p.endsWith(".d.ts")) || /\.safetensors$/.test(p));
    expect(forbidden).toEqual([]);
    expect(pkg.license).toBe("Apache-2.0");
    const license = readFileSync(join(repoRoot, "LICENSE"), "utf8");
    expect(license).toMatch(/Apache License\s+Version 2\.0/);
    const total = files.reduce((s, f) => s + f.size, 0);
    console.log(`[pack] ${files.length} files, ${(total / 1024).toFixed(1)} KB unpacked`);
  });

  it("source maps carry their sources (src/ is not shipped)", () => {
    const maps = paths.filter((p) => p.endsWith(".map"));
    expect(maps.length).toBeGreaterThan(0);
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(repoRoot, m), "utf8")) as { sources: string[]; sourcesContent?: (string | null)[] };
      expect(map.sourcesContent?.length, m).toBe(map.sources.length);
      expect(map.sourcesContent!.every((s) => typeof s === "string" && s.length > 0), m).toBe(true);
    }
  });
});

describe("dist/wasm/kernels.wasm", () => {
  it("is exactly the module the wasm backend compiles by default (so a host's precompiled module matches the code)", () => {
    const shipped = readFileSync(join(repoRoot, "dist/wasm/kernels.wasm"));
    expect(Buffer.compare(shipped, wasmKernelBytes())).toBe(0);
  });
});

describe("browser bundle", () => {
  it("is one import-free ES module under 58 KB gzipped", () => {
    const code = readFileSync(BUNDLE);
    const text = code.toString("utf8");
    const gzip = gzipSync(code, { level: 9 }).length;
    console.log(`[bundle] dist/browser/distilbert-ts.min.js: minified ${code.length} B (${(code.length / 1024).toFixed(1)} KB), gzip -9 ${gzip} B (${(gzip / 1024).toFixed(1)} KB); budget 58 KB`);
    expect(gzip).toBeLessThan(58 * 1024);
    expect(text).not.toMatch(/["'`]node:/);
    expect(text).not.toMatch(/\bimport\s*\(|\bimport\s*["'{*]|\brequire\s*\(/);
    expect(text).not.toMatch(/\beval\s*\(|new Function\s*\(/);
  });
});

describe("installed from the tarball", () => {
  const tmp = tempDir("consumer");
  const node = systemNode();
  let project = "";

  beforeAll(async () => {
    execFileSync("npm", ["pack", "--ignore-scripts", "--pack-destination", tmp.dir], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    const tgz = readdirSync(tmp.dir).find((f) => f.endsWith(".tgz"))!;
    project = join(tmp.dir, "app");
    const dest = join(project, "node_modules/distilbert-ts");
    mkdirSync(dest, { recursive: true });
    execFileSync("tar", ["-xzf", join(tmp.dir, tgz), "-C", dest, "--strip-components=1"]);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  });
  afterAll(() => tmp.cleanup());

  it.skipIf(node === null)("Node imports every entry point (the study tools too) and classifies like the source tree", async () => {
    writeFileSync(
      join(project, "main.mjs"),
      `import { loadModel } from "distilbert-ts";
import { loadModelFromDir, downloadModel, loadDefaultModel, studyInput as fromNode } from "distilbert-ts/node";
import { studyInput, renderStudyReport, runProbe, renderProbeReport } from "distilbert-ts/study";
const model = await loadModelFromDir(process.argv[2], { backend: "js" });
const r = await model.classify("A fine, moving film.");
const study = studyInput(model, { text: "A fine, moving film." });
const html = renderStudyReport(study);
const probe = runProbe(model, "A film from {}.", ["France", "Chad"], "positive");
console.log(JSON.stringify({ loadModel: typeof loadModel, label: r.label, score: r.score, study: study.label, lens: study.lens.length,
  html: html.startsWith("<!DOCTYPE html>"), probe: probe.rows.length, probeLabel: probe.label, probeHtml: renderProbeReport(probe).length > 0,
  node: [typeof downloadModel, typeof loadDefaultModel, fromNode === studyInput] }));
`,
    );
    const { stdout } = await run(node!, [join(project, "main.mjs"), tinyDir()], { cwd: project });
    const got = JSON.parse(stdout) as { loadModel: string; label: string; score: number; study: string; lens: number; html: boolean; probe: number; probeLabel: string; probeHtml: boolean; node: unknown[] };
    expect(got).toMatchObject({ study: got.label, html: true, probe: 2, probeLabel: "POSITIVE", probeHtml: true, node: ["function", "function", true] });
    expect(got.lens).toBeGreaterThan(1);
    const want = await (await loadTiny(new JsBackend())).classify("A fine, moving film.");
    expect(got.loadModel).toBe("function");
    expect(got.label).toBe(want.label);
    expect(Math.abs(got.score - want.score)).toBeLessThanOrEqual(1e-6);
  });

  it("bundlers pick the browser bundle for browsers and dist/index.js for Node; ./node is Node-only", async () => {
    writeFileSync(join(project, "web.mjs"), `import { loadModel } from "distilbert-ts";\nexport { loadModel };\n`);
    const inputs = async (platform: "browser" | "node") => {
      const r = await build({ entryPoints: [join(project, "web.mjs")], bundle: true, write: false, format: "esm", platform, metafile: true, logLevel: "silent", absWorkingDir: project });
      return Object.keys(r.metafile.inputs).filter((p) => p.includes("distilbert-ts"));
    };
    expect(await inputs("browser")).toEqual(["node_modules/distilbert-ts/dist/browser/distilbert-ts.min.js"]);
    expect(await inputs("node")).toContain("node_modules/distilbert-ts/dist/index.js");
    writeFileSync(join(project, "web-node.mjs"), `import { loadModelFromDir } from "distilbert-ts/node";\nexport { loadModelFromDir };\n`);
    await expect(
      build({ entryPoints: [join(project, "web-node.mjs")], bundle: true, write: false, platform: "browser", logLevel: "silent", absWorkingDir: project }),
    ).rejects.toThrow(/distilbert-ts\/node/);
  });

  it("tsc type-checks a consumer against the shipped .d.ts (NodeNext resolution)", async () => {
    writeFileSync(
      join(project, "use.ts"),
      `import { loadModel, SafetensorsError, type Classification } from "distilbert-ts";
import { loadModelFromDir } from "distilbert-ts/node";
import { studyInput, type Study } from "distilbert-ts/study";
export function g(model: Awaited<ReturnType<typeof loadModelFromDir>>): Study {
  return studyInput(model, { text: "x" });
}
export async function f(config: string, vocab: string, weights: Uint8Array): Promise<Classification> {
  const model = await loadModel({ config, vocab, weights });
  const r: Classification = await model.classify("text");
  // Proves the types are real, not any: were they any, this directive would be unused, and that is an error.
  // @ts-expect-error classify takes a string or strings
  void model.classify(42);
  const fromDir = await loadModelFromDir("dir");
  void fromDir.forward([101, 102]).logits.shape;
  void new SafetensorsError("w", "p");
  return r;
}
`,
    );
    const tsc = join(repoRoot, "node_modules/typescript/bin/tsc");
    // NodeNext is the strict reading of the exports map (its "types" conditions); --skipLibCheck keeps this to a
    // couple of seconds (the .d.ts files are tsc's own output), while an unresolved or untyped import still fails.
    await run(process.execPath, [tsc, "--noEmit", "--strict", "--skipLibCheck", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext", "--types", "node", "--typeRoots", join(repoRoot, "node_modules/@types"), join(project, "use.ts")], { cwd: project, timeoutMs: 60_000 });
  });
});
