import { readFile, writeFile } from "node:fs/promises";
import { VALUE_SETS } from "../../analysis/countries.js";
import { checkTemplate, parseValueList, probeCsv, runProbe, type ProbeResult } from "../../analysis/probe.js";
import { FileError, UsageError } from "../../errors.js";
import { renderProbeReport } from "../../report/probe-report.js";
import { loadCliModel, stringOpt, writeLine, type CliIO, type Command, type Values } from "../cli-support.js";

export const probeCommand: Command = {
  name: "probe",
  summary: "fill a template with each value of a list and compare P(label): a bias probe",
  usage: [
    `distilbert-ts probe [--model DIR] --template "This film was filmed in {}." [--values FILE | --set countries] [--label NAME] [--csv | --json] [--html FILE]`,
    "  --template T   a sentence with {} where each value goes (every {} is replaced)",
    "  --values FILE  one value per line (blank lines and # comments skipped); - reads stdin",
    `  --set NAME     a bundled list: ${Object.keys(VALUE_SETS).join(", ")} (the default; 195 countries: UN members and observer states)`,
    "  --label NAME   the label whose probability is compared (default POSITIVE, else the last label; case is ignored)",
    "  --csv, --json  machine-readable output (sorted rows and summary statistics)",
    "  --html FILE    a self-contained page with the statistics, a histogram and a sorted bar chart",
  ].join("\n"),
  options: {
    model: { type: "string" },
    template: { type: "string" },
    values: { type: "string" },
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
    if (file !== undefined && setName !== undefined) throw new UsageError("probe", "both --values and --set given", "one list of values");
    let list: string[];
    let source: string;
    if (file !== undefined) {
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
  await writeLine(io.stdout, `${col} for "${r.template}" over ${r.stats.n} values (${source}), highest first:`);
  await writeLine(io.stdout, `${"rank".padStart(4)}  ${col.padEnd(w)}  value`);
  for (let i = 0; i < r.rows.length; i++) {
    const row = r.rows[i];
    await writeLine(io.stdout, `${String(i + 1).padStart(4)}  ${row.prob.toFixed(4).padEnd(w)}  ${row.value}`);
  }
  const s = r.stats;
  await writeLine(io.stdout, "");
  await writeLine(io.stdout, `max     ${s.max.prob.toFixed(4)}  ${s.max.value}`);
  await writeLine(io.stdout, `min     ${s.min.prob.toFixed(4)}  ${s.min.value}`);
  await writeLine(io.stdout, `spread  ${s.spread.toFixed(4)}  (max − min)`);
  await writeLine(io.stdout, `mean    ${s.mean.toFixed(4)}`);
  await writeLine(io.stdout, `median  ${s.median.toFixed(4)}`);
  await writeLine(io.stdout, `std     ${s.std.toFixed(4)}  (population)`);
  if (htmlPath !== undefined) await writeLine(io.stdout, `chart: ${htmlPath}`);
}
