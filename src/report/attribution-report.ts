/**
 * HTML for attributions and activation patching: token strips coloured by attribution (a section the study report
 * places beside occlusion, or a page of its own for `attribute --html`), and the patching heatmap page.
 *
 * Colour meaning is fixed. For a sequence classifier each label has its colour (html.ts LABEL_COLORS, the same as
 * the rest of the study report): a token pushing toward the attributed label is drawn in that label's colour, one
 * pushing away in the other label's (two labels) or grey (more), whatever label is predicted. Without labels (token
 * heads) blue = toward the attributed output, orange = away. Each strip is scaled to its own largest |value|.
 */
import { described, optionalOf, resultOf } from "../arguments.js";
import { InputError } from "../errors.js";
import type { Attribution } from "../analysis/attribution.js";
import type { PatchResult } from "../analysis/patching.js";
import type { Study } from "../analysis/study.js";
import { diverging, esc, labelColor, num, OTHER_COLOR, page, ramp, rgb, SEQUENTIAL, tint } from "./html.js";

const UNSIGNED_COLOR = "#3f3f46";

/** The two ends of a signed strip: toward the attributed output, away from it. */
export interface StripColours {
  toward: string;
  away: string;
}

/**
 * The strip colours for the attributed label among the page's labels: its own colour, and the other
 * label's (or grey); null (blue/orange) for outputs that are not labels of a classifier.
 */
export function stripColours(a: Attribution, labels: readonly string[] | null): StripColours | null {
  if (labels === null) return null;
  // A token head's target is a vocabulary id or a label at a position: the page's labels know it by name.
  const j = a.position === undefined && a.target < labels.length ? a.target : labels.indexOf(a.label);
  if (j < 0) return null;
  return { toward: labelColor(j), away: labels.length === 2 ? labelColor(1 - j) : OTHER_COLOR };
}

function signedColour(t: number, colours: StripColours | null): string {
  if (colours === null) return diverging(t);
  return t >= 0 ? tint(colours.toward, t) : tint(colours.away, -t);
}

export const ATTRIBUTION_CSS = `
.astrip { display: flex; flex-wrap: wrap; gap: 4px; margin: 6px 0 4px; }
.atok { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; padding: 2px 6px; border-radius: 4px; border: 1px solid #d8dce4; }
.arow { margin: 10px 0 14px; }
.arow h3 { font-size: 14px; margin: 0 0 2px; }
table.patch td { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 11.5px; min-width: 52px; text-align: center; border: 1px solid #fff; padding: 3px 5px; }
table.patch th { font-size: 11.5px; color: var(--muted); font-weight: 600; padding: 3px 5px; white-space: nowrap; }
table.patch th.tk { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--ink); font-weight: 500; }
`;

/** One method's strip: each token on a diverging colour (signed methods) or a sequential one (rollout, saliency). */
export function attributionStrip(a: Attribution, labels: readonly string[] | null = null): string {
  const colours = stripColours(a, labels);
  const signed = a.method !== "rollout" && a.method !== "saliency";
  const maxAbs = Math.max(1e-12, ...a.attributions.map(Math.abs));
  const chips = a.tokens
    .map((t, i) => {
      const v = a.attributions[i];
      // Unsigned strips (rollout, saliency) in grey: no label's colour, so that a colour always means a label.
      const bg = signed ? signedColour(v / maxAbs, colours) : colours === null ? rgb(ramp(SEQUENTIAL, v / maxAbs)) : tint(UNSIGNED_COLOR, v / maxAbs);
      const ink = Math.abs(v / maxAbs) > 0.6 ? "#fff" : "#111";
      return `<span class="atok" style="background:${bg};color:${ink}" data-value="${v}" title="${esc(`${t} (#${i}): ${num(v, 5)}`)}">${esc(t)}</span>`;
    })
    .join("");
  const gap = a.completeness_gap === null
    ? ""
    : ` Σ = ${num(a.attributions.reduce((s, v) => s + v, 0), 5)}; F(x) − F(x′) = ${num(a.f_input! - a.f_baseline!, 5)}; completeness gap ${num(a.completeness_gap, 5)}.`;
  return `<div class="arow" data-method="${esc(a.method)}"><h3>${esc(METHOD_NAMES[a.method])}</h3><div class="astrip">${chips}</div><p class="note">${esc(a.meaning)}.${esc(gap)}</p></div>`;
}

const METHOD_NAMES: Record<Attribution["method"], string> = {
  ig: "Integrated gradients",
  gradxinput: "Gradient × input",
  saliency: "Saliency (gradient norm)",
  rollout: "Attention rollout",
  occlusion: "Occlusion",
};

/**
 * The study report's section: each method's strip, one under the other, for the same target label. labels: the
 * classifier's labels (the strips then take the labels' own colours); null for other heads.
 */
export function attributionSection(list: readonly Attribution[], labels: readonly string[] | null = null): string {
  if (!Array.isArray(list)) throw new InputError("attributionSection: list", `is ${described(list)}`, "an array of what attribute returned");
  list.forEach((a, i) => resultOf(a, `attributionSection: list[${i}]`, "attribute", { method: "string", tokens: "array", attributions: "array", label: "string" }));
  if (list.length === 0) return "";
  const signed = list.find((a) => a.method !== "rollout" && a.method !== "saliency") ?? list[0];
  const label = signed.label;
  const colours = stripColours(signed, labels);
  const away = colours === null || labels?.length !== 2 ? "away from it" : `away from it, toward ${esc(labels[1 - signed.target])}`;
  return `<section class="card" id="attributions">
<h2>Token attributions: gradients, rollout and occlusion side by side</h2>
<p class="note">Every signed strip is about the label <b>${esc(label)}</b>: <span class="sw" style="background:${signedColour(1, colours)}"></span> the token pushes toward ${esc(label)}, <span class="sw" style="background:${signedColour(-1, colours)}"></span> ${away}${colours === null ? "" : " (each label in its colour on the whole page)"}. Rollout is label-independent (how much [CLS] draws on each token). Each strip is scaled to its own largest value; hover a token for the number.</p>
${list.map((a) => attributionStrip(a, labels)).join("\n")}
</section>`;
}



export interface AttributionPageOptions {
  modelName?: string;
  generator?: string;
  /** A sequence classifier's labels: the strip takes the labels' colours. */
  labels?: readonly string[] | null;
}

/** `attribute --html`: one method's result on a page of its own. */
export function renderAttributionReport(a: Attribution, options: AttributionPageOptions = {}): string {
  resultOf(a, "renderAttributionReport: attribution", "attribute", { method: "string", tokens: "array", attributions: "array", label: "string", predicted: "string" });
  optionalOf(options, "renderAttributionReport: options", (v) => v !== null && typeof v === "object" && !Array.isArray(v), "an options object");
  const body = [
    "<main>",
    `<h1>${esc(METHOD_NAMES[a.method])}: ${esc(a.label)}</h1>`,
    `<p class="lead">${options.modelName ? `Model <code>${esc(options.modelName)}</code> · ` : ""}${a.tokens.length} tokens · predicted <b>${esc(a.predicted)}</b></p>`,
    attributionSection([a], options.labels ?? null),
    `<footer>Generated by ${esc(options.generator ?? "distilbert-ts")}. Everything on this page is computed by the engine from the model's weights; nothing is fetched.</footer>`,
    "</main>",
  ].join("\n");
  return page(`distilbert-ts ${a.method}: ${a.label}`, ATTRIBUTION_CSS + ".sw { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; border: 1px solid #ccd; }", body);
}

/** `patch --html`: the [layer × position] or [layer × head] grid as a heatmap of the normalised metric. */
export function renderPatchReport(p: PatchResult, options: AttributionPageOptions = {}): string {
  resultOf(p, "renderPatchReport: result", "activationPatching", { rows: "array", columns: "array", grid: "array", normalized: "array", cleanTokens: "array", corruptedTokens: "array", target: "string", other: "string" });
  optionalOf(options, "renderPatchReport: options", (v) => v !== null && typeof v === "object" && !Array.isArray(v), "an options object");
  const head = `<tr><th></th>${p.columns.map((c) => `<th class="tk">${esc(c)}</th>`).join("")}</tr>`;
  const rows = p.rows
    .map((r, i) => `<tr><th class="l">${esc(r)}</th>${p.grid[i]
      .map((v, j) => {
        const n = p.normalized[i][j];
        return `<td style="background:${diverging(n)};color:${Math.abs(n) > 0.6 ? "#fff" : "#111"}" title="${esc(`${r} · ${p.columns[j]}: metric ${num(v, 5)}, normalised ${num(n, 3)}`)}">${num(n, 2)}</td>`;
      })
      .join("")}</tr>`)
    .join("\n");
  const differs = p.cleanTokens.map((t, i) => (t !== p.corruptedTokens[i] ? i : -1)).filter((i) => i >= 0);
  const body = [
    "<main>",
    `<h1>Activation patching by ${esc(p.by)}</h1>`,
    `<p class="lead">${options.modelName ? `Model <code>${esc(options.modelName)}</code> · ` : ""}metric ${esc(p.metric)} = logit(${esc(p.target)}) − logit(${esc(p.other)}) · clean ${num(p.clean, 4)} · corrupted ${num(p.corrupted, 4)}</p>`,
    `<section class="card" id="patching">`,
    `<h2>${p.by === "position" ? "Layer × position (residual stream)" : "Layer × head (each head's output, all positions)"}</h2>`,
    `<p class="note">The corrupted input is run with one activation of the clean run patched in. Cell = (metric − corrupted) / (clean − corrupted): <span class="sw" style="background:${diverging(1)}"></span> 1 restores the clean behaviour, white = no effect, <span class="sw" style="background:${diverging(-1)}"></span> pushes further toward the corrupted one. Hover a cell for the raw metric.</p>`,
    `<p class="note">Clean: <code>${esc(p.cleanTokens.join(" "))}</code><br>Corrupted: <code>${esc(p.corruptedTokens.join(" "))}</code>${differs.length ? ` (differs at position${differs.length > 1 ? "s" : ""} ${differs.join(", ")})` : ""}</p>`,
    `<div class="scroll"><table class="patch">${head}\n${rows}</table></div>`,
    "</section>",
    `<footer>Generated by ${esc(options.generator ?? "distilbert-ts")}.</footer>`,
    "</main>",
  ].join("\n");
  return page(`distilbert-ts patching by ${p.by}`, ATTRIBUTION_CSS + ".sw { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; border: 1px solid #ccd; }", body);
}

/** The study's occlusion rows as one more strip (tokens of a removed run share its Δ; [CLS]/[SEP] get 0). */
export function occlusionAsAttribution(s: Study): Attribution[] {
  if (s.occlusion.length === 0) return [];
  const attributions = new Array<number>(s.tokens.length).fill(0);
  for (const o of s.occlusion) for (let i = o.index; i < o.index + o.count; i++) attributions[i] = o.delta;
  return [{
    method: "occlusion", tokens: s.tokens, ids: s.ids, target: s.labelIndex, label: s.label, predicted: s.labels[s.probs.indexOf(Math.max(...s.probs))],
    attributions, completeness_gap: null, meaning: `occlusion: P(${s.label}) of the full input minus P without the token`,
  }];
}
