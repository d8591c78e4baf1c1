import { readFile, writeFile } from "node:fs/promises";
import { VALUE_SETS } from "../../analysis/countries.js";
import { maskProbeCsv, runMaskProbe, type MaskProbeResult } from "../../analysis/mask-probe.js";
import { checkTemplate, parseValueList, probeCsv, runProbe, type ProbeResult } from "../../analysis/probe.js";
import { FileError, UsageError } from "../../errors.js";
import { printable } from "../../printable.js";
import { renderMaskProbeReport } from "../../report/mask-probe-report.js";
import { renderProbeReport } from "../../report/probe-report.js";
import { MODEL_OPTIONS, MODEL_USAGE, loadCliModel, stringOpt, writeLine, type CliIO, type Command, type Values } from "../cli-support.js";

export const probeCommand: Command = {
  name: "probe",
  summary: "fill a template with each value of a list and compare P(label), or a masked LM's words at [MASK]: a bias probe",
  usage: [
    `distilbert-ts probe [--model DIR] --template "This film was filmed in {}." [--values FILE | --set countries | --value V ...] [--label NAME] [--csv | --json] [--html FILE]`,
    `       distilbert-ts probe --model MLM_DIR --template "The {} worked as a [MASK]." --value "White man" --value "Black woman" [--top-k K] [--targets he,she] [--csv | --json] [--html FILE]`,
    "  --template T   a sentence with {} where each value goes (every {} is replaced); for a masked language model",
    "                 (fill-mask mode, chosen by the model) it also holds one [MASK]",
    "  --values FILE  one value per line (blank lines and # comments skipped); - reads stdin",
    "  --value V      one value (repeat it)",
    `  --set NAME     a bundled list: ${Object.keys(VALUE_SETS).join(", ")} (the default; 195 countries: UN members and observer states)`,
    "  --label NAME   the label whose probability is compared (default POSITIVE, else the last label; case is ignored)",
    "  --top-k K      fill-mask mode: words shown per value (default 10)",
    "  --targets W    fill-mask mode: words whose probability at [MASK] is compared across values (comma-separated or",
    "                 repeated), e.g. he,she",
    "  --csv, --json  machine-readable output (sorted rows and summary statistics; fill-mask: every value's words)",
    "  --html FILE    a self-contained page with the statistics, a histogram and a sorted bar chart (fill-mask: the",
    "                 values' top words side by side and the targets' probabilities)",
    MODEL_USAGE,
  ].join("\n"),
  options: {
    ...MODEL_OPTIONS,
    model: { type: "string" },
    template: { type: "string" },
    values: { type: "string" },
    value: { type: "string", multiple: true },
    "top-k": { type: "string" },
    targets: { type: "string", multiple: true },
    set: { type: "string" },
    label: { type: "string" },
    csv: { type: "boolean" },
    json: { type: "boolean" },
    html: { type: "string" },
  },
  async run(values: Values, _positionals: string[], io: CliIO): Promise<number> {
    const template = stringOpt(values, "template");
    if (template === undefined) throw new UsageError("--template", "missing", `a sentence with {} such as "This film was filmed in {}."`);
    checkTemplate(template);
    if (values.csv === true && values.json === true) throw new UsageError("probe", "both --csv and --json given", "one output format");
    const file = stringOpt(values, "values");
    const setName = stringOpt(values, "set");
    const given = (values.value as string[] | undefined) ?? [];
    const sources = [file !== undefined && "--values", setName !== undefined && "--set", given.length > 0 && "--value"].filter((x) => x !== false);
    if (sources.length > 1) throw new UsageError("probe", `both ${sources[0]} and ${sources[1]} given`, "one list of values");
    let list: string[];
    let source: string;
    if (given.length > 0) {
      list = parseValueList(given.join("\n"));
      source = "values given";
      if (list.length === 0) throw new UsageError("--value", "holds no value", "a non-empty value");
    } else if (file !== undefined) {
      list = parseValueList(await readValues(file, io));
      source = file === "-" ? "values from stdin" : `values from ${file}`;
      if (list.length === 0) throw new UsageError("--values", `${file === "-" ? "stdin" : file} holds no value`, "one value per line");
    } else {
      const name = setName ?? "countries";
      const set = VALUE_SETS[name];
      if (set === undefined || !Object.hasOwn(VALUE_SETS, name)) throw new UsageError("--set", `unknown set ${JSON.stringify(name)}`, Object.keys(VALUE_SETS).join(", "));
      list = [...set];
      source = `bundled set: ${name}`;
    }
    const model = await loadCliModel(values, io);
    if (model.model.architecture === "DistilBertForMaskedLM") return fillMaskProbe(values, io, model, template, list, source);
    for (const o of ["top-k", "targets"]) {
      if (values[o] !== undefined) throw new UsageError(`--${o}`, `applies to a masked language model, and this one is a ${model.model.architecture}`, "--label NAME for a classifier");
    }
    if (model.model.architecture !== "DistilBertForSequenceClassification") {
      throw new UsageError("probe", `the model is a ${model.model.architecture}`, "a sequence classifier (P(label) per value) or a masked language model (words at [MASK] per value)");
    }
    const result = runProbe(model, template, list, stringOpt(values, "label"));
    const htmlPath = stringOpt(values, "html");
    if (htmlPath !== undefined) {
      try {
        await writeFile(htmlPath, renderProbeReport(result, { modelName: stringOpt(values, "model"), generator: "distilbert-ts probe", source: `${source} (${list.length})` }));
      } catch (e) {
        throw new FileError(htmlPath, `cannot write the page (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "a writable file path");
      }
    }
    if (values.csv === true) io.stdout.write(probeCsv(result));
    else if (values.json === true) await writeLine(io.stdout, JSON.stringify({ template: result.template, label: result.label, source, stats: result.stats, rows: result.rows }));
    else await writeTable(io, result, source, htmlPath);
    return 0;
  },
};

async function fillMaskProbe(values: Values, io: CliIO, model: Awaited<ReturnType<typeof loadCliModel>>, template: string, list: string[], source: string): Promise<number> {
  if (values.label !== undefined) throw new UsageError("--label", "applies to a classifier, and this model is a masked language model", "--targets WORDS to compare words at [MASK]");
  const k = stringOpt(values, "top-k");
  const topK = k === undefined ? 10 : Number(k);
  if (!Number.isInteger(topK) || topK < 1) throw new UsageError("--top-k", `${JSON.stringify(k)} is not a positive integer`, "e.g. --top-k 10");
  const targets = ((values.targets as string[] | undefined) ?? []).flatMap((t) => t.split(",")).map((t) => t.trim()).filter((t) => t !== "");
  const result = runMaskProbe(model, template, list, { topK, targets });
  const htmlPath = stringOpt(values, "html");
  if (htmlPath !== undefined) {
    try {
      await writeFile(htmlPath, renderMaskProbeReport(result, { modelName: stringOpt(values, "model"), generator: "distilbert-ts probe", source: `${source} (${list.length})` }));
    } catch (e) {
      throw new FileError(htmlPath, `cannot write the page (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "a writable file path");
    }
  }
  if (values.csv === true) io.stdout.write(maskProbeCsv(result));
  else if (values.json === true) await writeLine(io.stdout, JSON.stringify({ ...result, source }));
  else await writeMaskTable(io, result, source, htmlPath);
  return 0;
}

/** The values side by side: one column per value, the top words down, then one line per target word. */
async function writeMaskTable(io: CliIO, r: MaskProbeResult, source: string, htmlPath: string | undefined): Promise<void> {
  const p = (s: string) => printable(s, 24);
  await writeLine(io.stdout, `words at the mask for "${printable(r.template, 200)}" over ${r.rows.length} value${r.rows.length === 1 ? "" : "s"} (${printable(source, 200)}), most probable first:`);
  const cell = (c: { token_str: string; score: number } | undefined) => (c === undefined ? "" : `${p(c.token_str)} ${c.score.toFixed(4)}`);
  const widths = r.rows.map((row) => Math.max(p(row.value).length, ...row.top.map((c) => cell(c).length), 8));
  const line = (first: string, cells: string[]) => `${first.padEnd(Math.max(6, ...r.targets.map((t) => `P(${p(t.word)})`.length)))}  ${cells.map((c, i) => c.padEnd(widths[i])).join("  ")}`.trimEnd();
  await writeLine(io.stdout, line("rank", r.rows.map((row) => p(row.value))));
  for (let k = 0; k < r.topK; k++) await writeLine(io.stdout, line(String(k + 1), r.rows.map((row) => cell(row.top[k]))));
  if (r.targets.length > 0) {
    await writeLine(io.stdout, "");
    for (let t = 0; t < r.targets.length; t++) {
      const tg = r.targets[t];
      const note = tg.token_str === tg.word ? "" : `  (scored as ${p(tg.token_str)})`;
      await writeLine(io.stdout, line(`P(${p(tg.word)})`, r.rows.map((row) => row.targets[t].toPrecision(4))) + note);
    }
  }
  if (htmlPath !== undefined) await writeLine(io.stdout, `chart: ${htmlPath}`);
}

async function readValues(file: string, io: CliIO): Promise<string> {
  if (file === "-") {
    const chunks: Buffer[] = [];
    for await (const c of io.stdin) chunks.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
    return Buffer.concat(chunks).toString("utf8");
  }
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    throw new FileError(file, `cannot read the value list (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "a text file with one value per line");
  }
}

async function writeTable(io: CliIO, r: ProbeResult, source: string, htmlPath: string | undefined): Promise<void> {
  const col = `P(${r.label})`;
  const w = Math.max(col.length, 8);
  await writeLine(io.stdout, `${printable(col, 80)} for "${printable(r.template, 200)}" over ${r.stats.n} values (${printable(source, 200)}), highest first:`);
  await writeLine(io.stdout, `${"rank".padStart(4)}  ${col.padEnd(w)}  value`);
  for (let i = 0; i < r.rows.length; i++) {
    const row = r.rows[i];
    await writeLine(io.stdout, `${String(i + 1).padStart(4)}  ${row.prob.toFixed(4).padEnd(w)}  ${printable(row.value, 80)}`);
  }
  const s = r.stats;
  await writeLine(io.stdout, "");
  await writeLine(io.stdout, `max     ${s.max.prob.toFixed(4)}  ${printable(s.max.value, 80)}`);
  await writeLine(io.stdout, `min     ${s.min.prob.toFixed(4)}  ${printable(s.min.value, 80)}`);
  await writeLine(io.stdout, `spread  ${s.spread.toFixed(4)}  (max − min)`);
  await writeLine(io.stdout, `mean    ${s.mean.toFixed(4)}`);
  await writeLine(io.stdout, `median  ${s.median.toFixed(4)}`);
  await writeLine(io.stdout, `std     ${s.std.toFixed(4)}  (population)`);
  if (htmlPath !== undefined) await writeLine(io.stdout, `chart: ${htmlPath}`);
}
