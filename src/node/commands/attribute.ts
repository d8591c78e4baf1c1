import { writeFile } from "node:fs/promises";
import { ATTRIBUTION_METHODS, attribute, type AttributionMethod, type Baseline, type IgRule } from "../../analysis/attribution.js";
import { FileError, UsageError } from "../../errors.js";
import { printable } from "../../printable.js";
import { renderAttributionReport } from "../../report/attribution-report.js";
import { MODEL_OPTIONS, MODEL_USAGE, loadCliModel, stringOpt, writeLine, type CliIO, type Command, type Values } from "../cli-support.js";
import { parseIdsOption } from "./ids-option.js";
import { atMostOneText, labelOption } from "../cli-rules.js";

const BASELINES: readonly Baseline[] = ["pad", "mask", "zero"];
const RULES: Record<string, IgRule> = { riemann: "riemann-right", "riemann-right": "riemann-right", gauss: "gauss-legendre", "gauss-legendre": "gauss-legendre" };

export const attributeCommand: Command = {
  name: "attribute",
  summary: "which tokens drove a prediction: integrated gradients, gradient × input, saliency, rollout, occlusion",
  usage: [
    "distilbert-ts attribute [--model DIR] [--method ig|gradxinput|saliency|rollout|occlusion] [--target LABEL] [--position P] [--steps N]",
    "                        [--rule riemann|gauss] [--baseline pad|mask|zero] [--json | --html FILE] (--ids 101,7592,102 | TEXT)",
    "  --method     ig (default): integrated gradients of the target's logit w.r.t. embeddings.out, summed over dim",
    "               gradxinput: (x − x′) · ∂logit/∂x; saliency: ‖∂logit/∂x‖ per token; rollout: attention rollout,",
    "               [CLS] row; occlusion: drop in P(target) when the token is removed",
    "  --target     the label attributed (default: the predicted one); a masked LM: a vocabulary token; QA: start or end",
    "  --position P a token head's row (masked LM, QA, NER): the position attributed (a masked LM: the first [MASK])",
    "  --similar-to TEXT  a sentence-embedding model: attribute the cosine similarity with TEXT's embedding",
    "  --steps N    IG's steps (default 32); --rule riemann (right sums, default) or gauss (Gauss–Legendre)",
    "  --baseline   x′: the ids with every token but [CLS]/[SEP] replaced by [PAD] (default) or [MASK], or zero",
    "  --json       print {\"tokens\",\"target\",\"label\",\"attributions\":[T],\"completeness_gap\", …}",
    "  --html FILE  write the tokens coloured by attribution as a self-contained page",
    MODEL_USAGE,
  ].join("\n"),
  options: {
    ...MODEL_OPTIONS,
    model: { type: "string" },
    method: { type: "string" },
    target: { type: "string" },
    position: { type: "string" },
    "similar-to": { type: "string" },
    steps: { type: "string" },
    rule: { type: "string" },
    baseline: { type: "string" },
    json: { type: "boolean" },
    html: { type: "string" },
    ids: { type: "string" },
  },
  positionals: true,
  async run(values: Values, texts: string[], io: CliIO): Promise<number> {
    const method = (stringOpt(values, "method") ?? "ig") as AttributionMethod;
    if (!ATTRIBUTION_METHODS.includes(method)) throw new UsageError("--method", `${JSON.stringify(method)} is unknown`, ATTRIBUTION_METHODS.join(", "));
    const stepsText = stringOpt(values, "steps");
    const steps = stepsText === undefined ? undefined : Number(stepsText);
    if (steps !== undefined && (!/^\d+$/.test(stepsText!) || steps < 1 || steps > 4096)) throw new UsageError("--steps", `${JSON.stringify(stepsText)} is not a step count`, "an integer from 1 to 4096");
    const baseline = (stringOpt(values, "baseline") ?? "pad") as Baseline;
    if (!BASELINES.includes(baseline)) throw new UsageError("--baseline", `${JSON.stringify(baseline)} is unknown`, BASELINES.join(", "));
    const ruleText = stringOpt(values, "rule") ?? "riemann";
    const rule = RULES[ruleText];
    if (rule === undefined || !Object.hasOwn(RULES, ruleText)) throw new UsageError("--rule", `${JSON.stringify(ruleText)} is unknown`, "riemann or gauss");
    const htmlPath = stringOpt(values, "html");
    if (htmlPath !== undefined && values.json === true) throw new UsageError("attribute", "both --json and --html given", "one of them");
    atMostOneText("attribute", texts);
    const idsArg = stringOpt(values, "ids");
    if ((idsArg === undefined) === (texts.length === 0)) {
      throw new UsageError("attribute", idsArg === undefined ? "nothing to attribute" : "both --ids and TEXT given", "either --ids 101,7592,102 or a TEXT");
    }

    const positionText = stringOpt(values, "position");
    if (positionText !== undefined && !/^\d{1,6}$/.test(positionText)) throw new UsageError("--position", `${JSON.stringify(positionText)} is not a token position`, "an integer from 0");
    const position = positionText === undefined ? undefined : Number(positionText);
    const model = await loadCliModel(values, io);
    const input = idsArg !== undefined ? parseIdsOption(idsArg, model) : { text: texts.join(" ") };
    const r = attribute(model, input, { method, target: labelOption(model, stringOpt(values, "target")), position, similarTo: stringOpt(values, "similar-to"), steps, rule, baseline });

    if (htmlPath !== undefined) {
      try {
        await writeFile(htmlPath, renderAttributionReport(r, { modelName: stringOpt(values, "model"), generator: "distilbert-ts attribute", labels: model.model.architecture === "DistilBertForSequenceClassification" ? model.config.labels : null }));
      } catch (e) {
        throw new FileError(htmlPath, `cannot write the report (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "a writable file path");
      }
    }
    if (values.json === true) {
      const { tokens, target, label, attributions, completeness_gap, ...rest } = r;
      await writeLine(io.stdout, JSON.stringify({ tokens, target, label, attributions, completeness_gap, ...rest }));
      return 0;
    }
    const at = r.position === undefined ? "" : ` at position ${r.position} (${printable(r.tokens[r.position], 24)})`;
    const how = r.method === "ig" ? ` (${r.rule}, ${r.steps} steps, baseline ${r.baseline})` : r.method === "gradxinput" ? ` (baseline ${r.baseline})` : "";
    await writeLine(io.stdout, `method: ${r.method}${how}`);
    await writeLine(io.stdout, r.method === "rollout" ? `predicted: ${printable(r.predicted, 80)} (rollout does not depend on the label)` : `target: ${printable(r.label, 80)}${at} (predicted: ${printable(r.predicted, 80)})`);
    await writeLine(io.stdout, printable(r.meaning, 400));
    const maxAbs = Math.max(1e-12, ...r.attributions.map(Math.abs));
    const width = Math.min(24, Math.max(5, ...r.tokens.map((t) => printable(t, 24).length)));
    for (let i = 0; i < r.tokens.length; i++) {
      const v = r.attributions[i];
      const bar = (v >= 0 ? "+" : "-").repeat(Math.round((Math.abs(v) / maxAbs) * 20));
      await writeLine(io.stdout, `${String(i).padStart(4)}  ${printable(r.tokens[i], 24).padEnd(width)}  ${v.toFixed(6).padStart(11)}  ${bar}`);
    }
    if (r.completeness_gap !== null) {
      const sum = r.attributions.reduce((s, v) => s + v, 0);
      await writeLine(io.stdout, `sum ${sum.toFixed(6)}; F(x) - F(x') = ${(r.f_input! - r.f_baseline!).toFixed(6)}; completeness gap ${r.completeness_gap.toExponential(3)}`);
    }
    if (htmlPath !== undefined) await writeLine(io.stdout, `report: ${htmlPath}`);
    return 0;
  },
};
