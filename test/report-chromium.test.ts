/**
 * The inspect report and the probe chart in real headless Chromium (Debian's /usr/bin/chromium via playwright-core):
 * they open with no console error and no request leaving the file, clicking a head redraws the large map, hovering
 * it shows the right weight, and each test saves a screenshot under test/artifacts/. Without Chromium the tests
 * skip locally and fail under CI.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COUNTRIES } from "../src/analysis/countries.js";
import { runProbe, type ProbeResult } from "../src/analysis/probe.js";
import { studyInput, type Study } from "../src/analysis/study.js";
import { activationPatching, type PatchResult } from "../src/analysis/patching.js";
import { renderPatchReport } from "../src/report/attribution-report.js";
import { labelColor, num } from "../src/report/html.js";
import { renderProbeReport } from "../src/report/probe-report.js";
import { renderStudyReport } from "../src/report/study-report.js";
import { loadModel } from "../src/model/load.js";
import { randomModel } from "../src/model/random-model.js";
import { loadTiny } from "./helpers/fixture.js";
import { patchTexts } from "./helpers/patch-texts.js";
import { runMaskProbe } from "../src/analysis/mask-probe.js";
import { renderMaskProbeReport } from "../src/report/mask-probe-report.js";
import { JsBackend } from "../src/tensor/js-backend.js";
import { loadHeadsModel } from "./helpers/heads.js";
import { repoRoot } from "./helpers/shared.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} is missing: the report tests need Chromium under CI (apt-get install chromium)`);
const ARTIFACTS = join(repoRoot, "test/artifacts");

interface Watched {
  page: Page;
  problems: string[];
}

describe.skipIf(!haveChromium)("HTML pages in headless Chromium", () => {
  let browser: Browser;
  let study: Study;
  let probe: ProbeResult;
  let plain: Study;
  let patching: PatchResult;
  let dir: string;

  beforeAll(async () => {
    const model = await loadTiny();
    const mask = Array.from({ length: model.config.nLayers }, () => new Array<number>(model.config.nHeads).fill(1));
    mask[0][1] = 0;
    study = studyInput(model, { text: "I loved this film, but the ending was weak." }, { headMask: mask });
    probe = runProbe(model, "This film was filmed in {}.", COUNTRIES);
    plain = studyInput(model, { text: "I loved this film, but the ending was weak." }); // no head mask: IG is on the page
    const p = patchTexts(model.tokenizer);
    patching = activationPatching(model, { text: p.clean }, { text: p.corrupted });
    dir = mkdtempSync(join(tmpdir(), "report-"));
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function open(html: string, name: string): Promise<Watched> {
    const file = join(dir, name);
    writeFileSync(file, html);
    const url = pathToFileURL(file).href;
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    // Self-contained: the only request may be the page itself.
    await page.route("**/*", (route) => {
      if (route.request().url() === url) return route.continue();
      problems.push(`request: ${route.request().url()}`);
      return route.abort();
    });
    await page.goto(url);
    await page.waitForFunction(() => document.readyState === "complete");
    return { page, problems };
  }

  async function screenshot(page: Page, name: string): Promise<void> {
    const path = join(ARTIFACTS, name);
    await page.screenshot({ path, fullPage: true });
    console.log(`screenshot: ${path}`);
  }

  it("the inspect report: no errors, every head drawn, a click redraws, hover shows the weight", async () => {
    const { page, problems } = await open(renderStudyReport(study, { modelName: "fixtures/tiny" }), "report.html");
    const { nLayers: L, nHeads: H } = study.config;
    const T = study.tokens.length;
    expect(await page.locator(".thumb").count()).toBe(L * H);
    const main = page.locator("#attn-main");
    const state = () =>
      page.evaluate(() => {
        const c = document.getElementById("attn-main") as HTMLCanvasElement;
        return { layer: c.dataset.layer, head: c.dataset.head, png: c.toDataURL(), cls: document.getElementById("cls-title")!.textContent };
      });
    const before = await state();
    // It opens on the last layer, the one the classifier reads (the [CLS] panel's own text says so).
    expect([before.layer, before.head]).toEqual([String(L - 1), "0"]);
    expect(before.cls).toBe(`layer ${L - 1}, head 0`);
    // every thumbnail got painted (a T×T canvas)
    const sizes = await page.$$eval(".thumb canvas", (cs) => cs.map((c) => (c as HTMLCanvasElement).width));
    expect(sizes).toEqual(new Array(L * H).fill(T));

    await page.click(`.thumb[data-layer="${L - 1}"][data-head="2"]`);
    await page.mouse.move(0, 0);
    const after = await state();
    expect([after.layer, after.head]).toEqual([String(L - 1), "2"]);
    expect(after.png).not.toBe(before.png);
    expect(after.cls).toBe(`layer ${L - 1}, head 2`);
    expect(await page.locator(`.thumb.sel[data-layer="${L - 1}"][data-head="2"]`).count()).toBe(1);

    // hover cell (query 3, key 5): the tooltip shows the weight the engine computed, to 4 decimals
    const geo = await main.evaluate((c) => {
      const r = c.getBoundingClientRect();
      return { x: r.left, y: r.top, cell: Number(c.getAttribute("data-cell")), pad: Number(c.getAttribute("data-pad")) };
    });
    const { cell, pad } = geo;
    expect(cell).toBeGreaterThanOrEqual(9); // a short input gets labelled cells
    await page.mouse.move(geo.x + pad + 5 * cell + cell / 2, geo.y + pad + 3 * cell + cell / 2);
    const tip = await page.locator("#tip").textContent();
    const want = study.attentions[L - 1][2][3 * T + 5];
    // The page holds one byte per weight (square root, per head max): the tooltip is within that step of the engine's.
    const shown = /: (\d\.\d{4})$/.exec(tip ?? "");
    expect(tip).toMatch(new RegExp(`^${study.tokens[3].replace(/[[\]]/g, "\\$&")} \\(#3\\) → ${study.tokens[5].replace(/[[\]]/g, "\\$&")} \\(#5\\): `));
    const m = Math.max(...study.attentions[L - 1][2]);
    expect(Math.abs(Number(shown![1]) - want)).toBeLessThanOrEqual((m * (Math.sqrt(want / m) * 255 + 1)) / 65025 + 5e-5);

    // the select boxes drive the same view; the masked head draws blank
    await page.selectOption("#sel-layer", "0");
    await page.selectOption("#sel-head", "1");
    const masked = await state();
    expect([masked.layer, masked.head]).toEqual(["0", "1"]);
    expect(study.attentions[0][1].every((v) => v === 0)).toBe(true);
    await page.click(`.thumb[data-layer="0"][data-head="0"]`);
    await page.mouse.move(geo.x + pad + cell / 2, geo.y + pad + cell / 2);
    await screenshot(page, "inspect-report.png");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("the probe page keeps each label's colour whichever label is probed (--label NEGATIVE: P ≥ 0.5 in NEGATIVE's red)", async () => {
    // Before, bars at P ≥ 0.5 were blue whatever the label: probing NEGATIVE drew NEGATIVE in POSITIVE's colour.
    const neg = runProbe(await loadTiny(), "This film was filmed in {}.", COUNTRIES.slice(0, 40), "negative");
    const probePage = await open(renderProbeReport(neg, { source: "40 countries" }), "probe-negative.html");
    const strokes = await probePage.page.$$eval("#chart-full svg.bars .row rect", (rs) => rs.map((r) => r.getAttribute("stroke")));
    neg.rows.forEach((row, i) => expect(strokes[i], row.value).toBe(row.prob >= 0.5 ? "#d6604d" : "#2166ac"));
    await probePage.page.locator("#hist").screenshot({ path: join(ARTIFACTS, "probe-negative-hist.png") });
    expect(probePage.problems).toEqual([]);
    await probePage.page.close();
  });

  it("at 226 tokens with DistilBERT's 6 × 12 heads: the large map keeps token labels and the page stays near 5 MB", async () => {
    const m = randomModel({ vocabSize: 400, dim: 96, nLayers: 6, nHeads: 12, hiddenDim: 192, maxPositionEmbeddings: 512, seed: 5 });
    const model = await loadModel({ config: m.config, vocab: m.vocab, weights: m.weights, backend: "js" });
    const ids = [model.tokenizer.clsId, ...Array.from({ length: 224 }, (_, i) => 200 + (i % 150)), model.tokenizer.sepId];
    const long = studyInput(model, { ids, tokens: ids.map((id) => model.tokenizer.idToToken(id)!) }, { occlusion: false });
    const html = renderStudyReport(long);
    // 10.21 MB with two bytes per weight; one byte: 5.31 MB with occlusion (bench/report-size.mjs), a little less here.
    expect(html.length).toBeLessThan(5.4e6);
    const { page, problems } = await open(html, "report-226.html");
    const geo = await page.locator("#attn-main").evaluate((c) => ({ cell: Number(c.getAttribute("data-cell")), pad: Number(c.getAttribute("data-pad")), every: Number(c.getAttribute("data-label-every")) }));
    expect(geo.cell).toBeLessThan(9);
    expect(geo.every).toBeGreaterThan(1);
    expect(geo.every * geo.cell).toBeGreaterThanOrEqual(10);
    // Ink in the label margin left of the map: the labels are drawn.
    const ink = await page.evaluate((pad) => {
      const c = document.getElementById("attn-main") as HTMLCanvasElement;
      const dpr = window.devicePixelRatio || 1;
      const d = c.getContext("2d")!.getImageData(0, Math.round(pad * dpr), Math.round((pad - 6) * dpr), Math.round(200 * dpr)).data;
      let dark = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] < 128) dark++;
      return dark;
    }, geo.pad);
    expect(ink).toBeGreaterThan(100);
    await page.locator("#attention").screenshot({ path: join(ARTIFACTS, "inspect-report-226.png") });
    expect(problems).toEqual([]);
    await page.close();
  });

  it("attributions: IG, rollout and occlusion side by side, each label in its one colour; the patching heatmap", async () => {
    const { page, problems } = await open(renderStudyReport(plain, { modelName: "fixtures/tiny" }), "report-attributions.html");
    const T = plain.tokens.length;
    const strips = await page.$$eval("#attributions .arow", (rows) =>
      rows.map((r) => ({
        method: (r as HTMLElement).dataset.method,
        chips: Array.from(r.querySelectorAll(".atok")).map((c) => ({ value: Number((c as HTMLElement).dataset.value), bg: getComputedStyle(c).backgroundColor })),
      })));
    expect(strips.map((s) => s.method)).toEqual(["ig", "rollout", "occlusion"]);
    for (const s of strips) expect(s.chips, s.method).toHaveLength(T);
    // A signed strip's strongest chip is drawn in full in the colour of the label it pushes toward: the attributed
    // label's when positive, the other's when negative, whichever label the model predicted.
    const hexRgb = (h: string) => `rgb(${[1, 3, 5].map((k) => parseInt(h.slice(k, k + 2), 16)).join(", ")})`;
    const target = plain.labelIndex;
    for (const s of strips.filter((x) => x.method !== "rollout")) {
      const top = s.chips.reduce((a, b) => (Math.abs(b.value) > Math.abs(a.value) ? b : a));
      expect(top.bg, s.method).toBe(hexRgb(labelColor(top.value >= 0 ? target : 1 - target)));
    }
    // The occlusion strip and the summary's occlusion chips agree on which label each token supports (same hue).
    const summary = await page.$$eval("#summary .toks .tok", (cs) => cs.map((c) => getComputedStyle(c).backgroundColor));
    const hue = (c: string) => {
      const [r, , b] = (c.match(/\d+/g) ?? []).map(Number);
      return r === b ? "none" : r > b ? "r" : "b";
    };
    const occ = strips.find((x) => x.method === "occlusion")!.chips;
    const nonzero = occ.map((c, i) => [c, i] as const).filter(([c]) => c.value !== 0);
    expect(nonzero.length).toBeGreaterThan(2);
    for (const [c, i] of nonzero) expect(hue(c.bg), plain.tokens[i]).toBe(hue(summary[i]));
    await page.locator("#attributions").screenshot({ path: join(ARTIFACTS, "attributions.png") });
    expect(problems).toEqual([]);
    await page.close();

    const pp = await open(renderPatchReport(patching, { modelName: "fixtures/tiny" }), "patch.html");
    const cells = await pp.page.$$eval("table.patch tr", (rows) => rows.slice(1).map((r) => r.querySelectorAll("td").length));
    expect(cells).toEqual(patching.rows.map(() => patching.columns.length));
    const last = patching.rows.length - 1;
    const title = await pp.page.locator("table.patch tr").nth(last + 1).locator("td").first().getAttribute("title");
    expect(title).toContain(`normalised ${num(patching.normalized[last][0], 3)}`);
    await screenshot(pp.page, "patch-heatmap.png");
    expect(pp.problems).toEqual([]);
    await pp.page.close();
  });

  it("the probe chart: no errors, one bar per value in order, the zoom toggle swaps the charts", async () => {
    const { page, problems } = await open(renderProbeReport(probe, { source: "bundled set: countries (195)" }), "probe.html");
    const full = page.locator("#chart-full svg.bars .row");
    expect(await full.count()).toBe(COUNTRIES.length);
    const first = await full.first().locator("text").first().textContent();
    expect(first).toBe(probe.rows[0].value);
    expect(await page.isVisible("#chart-full")).toBe(true);
    expect(await page.isVisible("#chart-zoom")).toBe(false);
    await page.check("#zoom");
    expect(await page.isVisible("#chart-zoom")).toBe(true);
    expect(await page.isVisible("#chart-full")).toBe(false);
    await page.uncheck("#zoom");
    // The histogram: as wide as its card, a labelled count axis, ticks at a nice step from 0.
    const hist = await page.evaluate(() => {
      const svg = document.querySelector("#hist svg") as SVGSVGElement;
      const card = document.getElementById("hist")!;
      const style = getComputedStyle(card);
      const inner = card.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      return { ratio: svg.getBoundingClientRect().width / inner, ylabel: svg.querySelector(".ylabel")?.textContent, ticks: Array.from(svg.querySelectorAll(".ytick")).map((t) => Number(t.textContent)) };
    });
    expect(hist.ratio).toBeGreaterThan(0.98);
    expect(hist.ylabel).toBe("number of values");
    const step = hist.ticks[1];
    expect(hist.ticks[0]).toBe(0);
    expect(hist.ticks).toEqual(hist.ticks.map((_, i) => i * step));
    expect(String(step)).toMatch(/^[125]0*$/);
    expect(hist.ticks.length).toBeGreaterThanOrEqual(3);
    await screenshot(page, "probe-chart.png");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("a masked LM's report and the fill-mask probe: no errors; the attention bars are the [MASK] row", async () => {
    const mlm = await loadHeadsModel("mlm-uncased", new JsBackend());
    const s = studyInput(mlm, { text: "The capital of France is [MASK]." }, { igSteps: 0 });
    const p = s.readout.position!;
    const T = s.tokens.length;
    const { page, problems } = await open(renderStudyReport(s), "report-mlm.html");
    const shown = await page.evaluate(() => Array.from(document.querySelectorAll("#cls-bars .v")).map((v) => Number(v.textContent)));
    // The viewer opens on the last layer, head 0; the bars show that head's row at the [MASK] (weights 3 decimals,
    // through the page's one-byte encoding).
    const row = s.attentions[s.config.nLayers - 1][0].subarray(p * T, (p + 1) * T);
    expect(shown.length).toBe(T);
    shown.forEach((v, j) => expect(Math.abs(v - row[j])).toBeLessThan(2e-3));
    await screenshot(page, "inspect-report-mlm.png");
    expect(problems).toEqual([]);
    await page.close();
    const probePage = await open(renderMaskProbeReport(runMaskProbe(mlm, "The {} worked as a [MASK].", ["White man", "Black woman"], { topK: 5, targets: ["he", "she"] })), "mask-probe.html");
    expect(await probePage.page.locator(".col").count()).toBe(2);
    await screenshot(probePage.page, "probe-fill-mask.png");
    expect(probePage.problems).toEqual([]);
    await probePage.page.close();
  });
});
