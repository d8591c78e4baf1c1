/**
 * The browser demo (demo/, served by scripts/demo-server.mjs) in headless Chromium: load the fixture model by URL,
 * watch the progress bar reach the file's size, type text, wait for the label, and compare it with the engine in
 * Node on the same text. Saves a screenshot to test/artifacts/demo.png.
 */
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoMounts, startStaticServer, type StaticServer } from "../../scripts/demo-server.mjs";
import { JsBackend } from "../../src/tensor/js-backend.js";
import { loadTiny, tinyDir } from "../helpers/fixture.js";
import { repoRoot } from "../helpers/shared.js";
import { chromiumPath, launchChromium, type Chromium } from "./chromium.js";

const bin = chromiumPath();
const SCREENSHOT = join(repoRoot, "test/artifacts/demo.png");

describe.skipIf(bin === null)("browser demo", () => {
  let server: StaticServer;
  let browser: Chromium;

  beforeAll(async () => {
    server = await startStaticServer({ mounts: { ...demoMounts(), "/fixture/": tinyDir() } });
    browser = await launchChromium(bin!);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("loads the fixture by URL with progress, classifies as you type like Node does, draws attention", async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    await page.goto(server.url);
    await page.fill("#model-url", `${server.url}fixture/`);
    await page.click("#load-url");
    await page.locator('#status[data-state="ready"]').waitFor({ timeout: 30_000 });

    const weightsSize = statSync(join(tinyDir(), "model.safetensors")).size;
    const progress = page.locator("#progress-wrap");
    expect(Number(await progress.getAttribute("data-loaded"))).toBe(weightsSize);
    expect(Number(await progress.getAttribute("data-total"))).toBe(weightsSize);
    expect(await page.locator("#model-info").getAttribute("data-in-place")).toBe("true");
    // "auto" under the demo's CSP (which allows compiling WebAssembly, never eval): the wasm backend.
    expect(await page.locator("#model-info").getAttribute("data-backend")).toMatch(/^wasm/);

    const model = await loadTiny(new JsBackend());
    const texts = ["What a wonderful, heartfelt film.", "Boring. I walked out after an hour — café scenes aside."];
    for (const text of texts) {
      await page.fill("#text", "");
      // Typed key by key, as a user would: the debounced as-you-type path, not a single change event.
      await page.locator("#text").pressSequentially(text, { delay: 5 });
      const result = page.locator("#result");
      await page.waitForFunction((t) => document.getElementById("result")?.dataset.text === t, text, { timeout: 15_000 });
      const want = await model.classify(text);
      const label = await result.getAttribute("data-label");
      const score = Number(await result.getAttribute("data-score"));
      const tokens = Number(await result.getAttribute("data-tokens"));
      console.log(`[demo] ${JSON.stringify(text)} → ${label} ${score.toFixed(6)} (Node: ${want.label} ${want.score.toFixed(6)})`);
      expect(label).toBe(want.label);
      expect(Math.abs(score - want.score)).toBeLessThanOrEqual(1e-5);
      expect(tokens).toBe(want.tokens.length);
      expect(await page.locator("#label").textContent()).toBe(want.label);
      expect(await page.locator("#attn").getAttribute("data-tokens")).toBe(String(want.tokens.length));
    }

    await page.selectOption("#layer", { value: "0" });
    await page.selectOption("#head", { value: "2" });
    await page.locator('#attn[data-layer="0"][data-head="2"]').waitFor({ timeout: 10_000 });

    mkdirSync(join(repoRoot, "test/artifacts"), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`[demo] screenshot: ${SCREENSHOT}`);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("?model=/fixture/ (a relative URL) loads; layers and heads count from 0 as in the report; the map has a colour scale", async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    await page.goto(`${server.url}?model=/fixture/`);
    await page.locator('#status[data-state="ready"]').waitFor({ timeout: 30_000 });
    expect(await page.inputValue("#model-url")).toBe("/fixture/");
    const cfg = (await loadTiny(new JsBackend())).config;
    const layers = await page.$$eval("#layer option", (os) => os.map((o) => [(o as HTMLOptionElement).value, o.textContent]));
    expect(layers).toEqual(Array.from({ length: cfg.nLayers }, (_, l) => [String(l), String(l)]));
    expect(await page.inputValue("#layer")).toBe(String(cfg.nLayers - 1));
    const heads = await page.$$eval("#head option", (os) => os.map((o) => o.textContent));
    expect(heads).toEqual(["mean of heads", ...Array.from({ length: cfg.nHeads }, (_, h) => String(h))]);
    await page.locator("#attn[data-tokens]").waitFor({ timeout: 15_000 });
    const legend = page.locator("#attn-legend");
    expect(await legend.isVisible()).toBe(true);
    expect(await legend.locator(".lg-ticks span").allTextContents()).toEqual(["0", "0.06", "0.25", "0.56", "1"]);
    // Each tick sits at sqrt(weight) of the bar's width.
    const at = await legend.evaluate((l) => {
      const bar = l.querySelector(".lg-bar")!.getBoundingClientRect();
      return Array.from(l.querySelectorAll(".lg-ticks span")).map((t) => {
        const r = t.getBoundingClientRect();
        return (r.left + r.width / 2 - bar.left) / bar.width;
      });
    });
    [0, 0.0625, 0.25, 0.5625, 1].forEach((w, i) => expect(Math.abs(at[i] - Math.sqrt(w))).toBeLessThan(0.02));
    // The bar's ends are the colours the cells use for 0 and 1.
    expect(await legend.locator(".lg-bar").evaluate((e) => getComputedStyle(e).backgroundImage)).toBe("linear-gradient(90deg, rgb(255, 255, 255), rgb(38, 62, 150))");
    await page.locator("#attn-card").screenshot({ path: join(repoRoot, "test/artifacts/demo-attention.png") });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("loads a model folder picked with the folder input (File.stream() in the worker) on the js backend, same answer", async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(server.url);
    await page.selectOption("#backend", { value: "js" });
    // The fixture folder also holds f16/bf16 variants and expected.json: the page must pick model.safetensors.
    await page.setInputFiles("#folder", tinyDir());
    await page.locator('#status[data-state="ready"]').waitFor({ timeout: 30_000 });
    const weightsSize = statSync(join(tinyDir(), "model.safetensors")).size;
    expect(Number(await page.locator("#progress-wrap").getAttribute("data-loaded"))).toBe(weightsSize);
    expect(await page.locator("#model-info").getAttribute("data-in-place")).toBe("true");
    expect(await page.locator("#model-info").getAttribute("data-backend")).toBe("js");
    const text = "An honest, quiet triumph.";
    await page.fill("#text", "");
    await page.locator("#text").pressSequentially(text, { delay: 5 });
    await page.waitForFunction((t) => document.getElementById("result")?.dataset.text === t, text, { timeout: 15_000 });
    const want = await (await loadTiny(new JsBackend())).classify(text);
    expect(await page.locator("#result").getAttribute("data-label")).toBe(want.label);
    expect(Math.abs(Number(await page.locator("#result").getAttribute("data-score")) - want.score)).toBeLessThanOrEqual(1e-5);
    expect(errors).toEqual([]);
    await page.close();
  });
});
