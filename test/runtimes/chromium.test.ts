/**
 * Headless Chromium: the browser bundle on a page and inside a module Web Worker, served from 127.0.0.1 with a
 * Content-Security-Policy that never has 'unsafe-eval' (the page confirms eval and new Function throw), with and
 * without 'wasm-unsafe-eval'; weights fetched over HTTP. Checks the fixture logits within 1e-4 and the texts against
 * Node, for each backend the policy allows, and that "auto" falls back to js when WebAssembly is forbidden.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contentSecurityPolicy, startStaticServer, type StaticServer } from "../../scripts/demo-server.mjs";
import { tinyDir } from "../helpers/fixture.js";
import { repoRoot } from "../helpers/shared.js";
import { chromiumPath, chromiumVersion, launchChromium, type Chromium } from "./chromium.js";
import { checkResult, makeJob, parseResult, tempDir, WASM, writeJob } from "./helpers.js";

const bin = chromiumPath();

describe.skipIf(bin === null)("chromium", () => {
  const tmp = tempDir("chromium");
  let server: StaticServer;
  let browser: Chromium;

  beforeAll(async () => {
    console.log(`[chromium] ${chromiumVersion(bin!)}`);
    writeJob(tmp.dir, makeJob(["js"]));
    server = await startStaticServer({
      mounts: { "/t/": join(repoRoot, "test/runtimes/fixtures"), "/dist/": join(repoRoot, "dist"), "/fixture/": tinyDir(), "/job/": tmp.dir },
      // Never 'unsafe-eval'; 'wasm-unsafe-eval' (compiling WebAssembly) only on pages that ask for it.
      csp: (url) => contentSecurityPolicy({ wasm: url.searchParams.get("csp") === "wasm" }),
      crossOriginIsolated: true,
    });
    browser = await launchChromium(bin!);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    tmp.cleanup();
  });

  async function runPage(mode: "page" | "worker", csp: "wasm" | "nowasm", backends: string[], threads = 1): Promise<string> {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    try {
      await page.goto(`${server.url}t/browser.html?mode=${mode}&csp=${csp}&backends=${backends.join(",")}${threads > 1 ? `&threads=${threads}` : ""}`);
      await page.locator("#result[data-done]").waitFor({ timeout: 30_000 });
      const text = (await page.locator("#result").textContent()) ?? "";
      if (!text.startsWith("RESULT ")) throw new Error(`${mode}: ${text}\n${errors.join("\n")}`);
      return text;
    } finally {
      await page.close();
    }
  }

  for (const mode of ["page", "worker"] as const) {
    it(`${mode}, CSP without eval or WebAssembly: js works, auto falls back to js, wasm is refused`, async () => {
      const result = parseResult(await runPage(mode, "nowasm", ["js", "auto", "wasm"]));
      const checks = result.checks as Record<string, string>;
      console.log(`[chromium ${mode}] CSP without 'wasm-unsafe-eval', probes: ${JSON.stringify(checks)}`);
      expect(checks).toMatchObject({ eval: "EvalError", newFunction: "EvalError", wasmCompile: "CompileError" });
      await checkResult(`chromium ${mode}`, result, { js: "js", auto: "js", wasm: { fails: /CompileError/ } });
    });

    it(`${mode}, CSP with 'wasm-unsafe-eval' only: wasm and auto run WebAssembly SIMD`, async () => {
      const result = parseResult(await runPage(mode, "wasm", ["wasm", "auto"]));
      const checks = result.checks as Record<string, string>;
      expect(checks).toMatchObject({ eval: "EvalError", newFunction: "EvalError", wasmCompile: "allowed" });
      await checkResult(`chromium ${mode}`, result, { wasm: WASM, auto: WASM });
    });
  }

  it("worker, cross-origin isolated: the wasm backend with 2 threads (pool workers from dist/browser/web-worker.js)", async () => {
    const result = parseResult(await runPage("worker", "wasm", ["wasm"], 2));
    expect((result.checks as Record<string, unknown>).crossOriginIsolated).toBe(true);
    await checkResult("chromium worker", result, { wasm: /^wasm(-relaxed)?-2t$/ });
  });
});
