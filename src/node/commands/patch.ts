import { writeFile } from "node:fs/promises";
import { activationPatching, type PatchBy, type PatchMetric } from "../../analysis/patching.js";
import { FileError, UsageError } from "../../errors.js";
import { printable } from "../../printable.js";
import { renderPatchReport } from "../../report/attribution-report.js";
import { MODEL_OPTIONS, MODEL_USAGE, loadCliModel, stringOpt, writeLine, type CliIO, type Command, type Values } from "../cli-support.js";

export const patchCommand: Command = {
  name: "patch",
  summary: "activation patching: the corrupted input with each clean activation patched in, as a layer × position or head grid",
  usage: [
    "distilbert-ts patch [--model DIR] --clean TEXT --corrupted TEXT [--metric logit-diff] [--by position|head]",
    "                    [--target LABEL] [--other LABEL] [--json | --html FILE]",
    "  the two texts must have the same number of tokens (positions correspond)",
    "  --by position  patch one position of the residual stream (embeddings.out, layer.{i}.out) at a time (default)",
    "  --by head      patch one head's output (its columns of layer.{i}.attn.context, every position) at a time",
    "  --metric       logit-diff (default) = logit(target) − logit(other); target defaults to the clean prediction,",
    "                 other to the corrupted prediction (or the clean runner-up)",
    "  prints each cell normalised: (metric − corrupted) / (clean − corrupted), 1 = clean restored; --json has both",
    MODEL_USAGE,
  ].join("\n"),
  options: {
    ...MODEL_OPTIONS,
    model: { type: "string" },
    clean: { type: "string" },
    corrupted: { type: "string" },
    metric: { type: "string" },
    by: { type: "string" },
    target: { type: "string" },
    other: { type: "string" },
    json: { type: "boolean" },
    html: { type: "string" },
  },
  async run(values: Values, _texts: string[], io: CliIO): Promise<number> {
    const clean = stringOpt(values, "clean");
    const corrupted = stringOpt(values, "corrupted");
    if (clean === undefined || corrupted === undefined) throw new UsageError("patch", `no ${clean === undefined ? "--clean" : "--corrupted"} text`, "--clean TEXT --corrupted TEXT");
    const by = (stringOpt(values, "by") ?? "position") as PatchBy;
    if (by !== "position" && by !== "head") throw new UsageError("--by", `${JSON.stringify(by)} is unknown`, "position or head");
    const metric = (stringOpt(values, "metric") ?? "logit-diff") as PatchMetric;
    if (metric !== "logit-diff") throw new UsageError("--metric", `${JSON.stringify(metric)} is unknown`, "logit-diff");
    const htmlPath = stringOpt(values, "html");
    if (htmlPath !== undefined && values.json === true) throw new UsageError("patch", "both --json and --html given", "one of them");

    const model = await loadCliModel(values, io);
    const r = activationPatching(model, { text: clean }, { text: corrupted }, { by, metric, target: stringOpt(values, "target"), other: stringOpt(values, "other") });
    if (htmlPath !== undefined) {
      try {
        await writeFile(htmlPath, renderPatchReport(r, { modelName: stringOpt(values, "model"), generator: "distilbert-ts patch" }));
      } catch (e) {
        throw new FileError(htmlPath, `cannot write the report (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "a writable file path");
      }
    }
    if (values.json === true) {
      await writeLine(io.stdout, JSON.stringify(r));
      return 0;
    }
    const p = (s: string) => printable(s, 40);
    await writeLine(io.stdout, `clean:     ${r.cleanTokens.map(p).join(" ")}`);
    await writeLine(io.stdout, `corrupted: ${r.corruptedTokens.map(p).join(" ")}`);
    await writeLine(io.stdout, `metric: logit(${p(r.target)}) - logit(${p(r.other)}); clean ${r.clean.toFixed(4)}, corrupted ${r.corrupted.toFixed(4)}`);
    await writeLine(io.stdout, `grid (${r.rows.length} × ${r.columns.length}), each cell (metric - corrupted) / (clean - corrupted):`);
    const rowW = Math.max(...r.rows.map((x) => x.length));
    const colW = 7;
    const cols = by === "position" ? r.columns.map((_, i) => String(i)) : r.columns.map((_, h) => `h${h}`);
    await writeLine(io.stdout, `${"".padEnd(rowW)} ${cols.map((c) => c.padStart(colW)).join("")}`);
    for (let i = 0; i < r.rows.length; i++) {
      await writeLine(io.stdout, `${r.rows[i].padEnd(rowW)} ${r.normalized[i].map((v) => v.toFixed(2).padStart(colW)).join("")}`);
    }
    if (by === "position") await writeLine(io.stdout, `positions: ${r.columns.map(p).join(" ")}`);
    if (htmlPath !== undefined) await writeLine(io.stdout, `report: ${htmlPath}`);
    return 0;
  },
};
