/** fill-mask, ner and embed: the pipelines of src/pipelines on the command line. */
import { DistilBertError, UsageError } from "../../errors.js";
import type { FillMaskResult } from "../../pipelines/fill-mask.js";
import { fillMask } from "../../pipelines/fill-mask.js";
import { featureExtraction } from "../../pipelines/feature-extraction.js";
import { AGGREGATIONS, type Aggregation, type EntityGroup, type TokenEntity, tokenClassification } from "../../pipelines/token-classification.js";
import { printable } from "../../printable.js";
import { stringOpt, writeLine, type Command, type CliIO, type Values } from "../cli-support.js";
import { positiveInt } from "../formats/batch.js";
import { AtomicFileWriter, writeWithBackpressure } from "../formats/output.js";
import { writeNpy } from "../npy.js";
import { eachInput, INPUT_OPTIONS, INPUT_USAGE, loadTaskModel, num, ROW_USAGE, skippedLine, taskInputs } from "../task-input.js";

export const fillMaskCommand: Command = {
  name: "fill-mask",
  summary: "the likeliest words for each [MASK] of a text (a masked-LM model)",
  usage: ["distilbert-ts fill-mask --model DIR [--top-k K] [--json] [TEXT ...]", "  --top-k: candidates per mask (default 5)", ...INPUT_USAGE, ...ROW_USAGE].join("\n"),
  options: { ...INPUT_OPTIONS, "top-k": { type: "string" } },
  positionals: true,
  async run(values: Values, positionals: string[], io: CliIO): Promise<number> {
    const topK = positiveInt(stringOpt(values, "top-k") ?? "5", "--top-k");
    const inputs = await taskInputs("fill-mask", values, positionals, io);
    const model = await loadTaskModel("fill-mask", values, io, "DistilBertForMaskedLM");
    const json = values.json === true;
    return eachInput(inputs, io, ({ text }) => fillMask(model, text, { topK }), async ({ text }, out, skipped) => {
      if (skipped !== undefined || out === undefined) return skippedLine(io, text, skipped ?? "", json);
      if (json) return writeLine(io.stdout, JSON.stringify(out));
      const perMask = (Array.isArray(out[0]) ? out : [out]) as FillMaskResult[][];
      let s = printable(text, Infinity) + "\n";
      perMask.forEach((cands, m) => {
        if (perMask.length > 1) s += `  mask ${m + 1}:\n`;
        for (const c of cands) s += `  ${num(c.score)}  ${printable(c.token_str, 60).padEnd(16)}  ${printable(c.sequence, Infinity)}\n`;
      });
      await writeWithBackpressure(io.stdout, s);
    });
  },
};

export const nerCommand: Command = {
  name: "ner",
  summary: "named entities (a token-classification model)",
  usage: [
    "distilbert-ts ner --model DIR [--aggregation none|simple|first|average|max] [--json] [TEXT ...]",
    "  --aggregation: none (each word piece; the default), simple (B-/I- runs grouped), or first/average/max",
    "    (a word's pieces decided together, then grouped), as Hugging Face's aggregation_strategy",
    ...INPUT_USAGE,
    ...ROW_USAGE,
  ].join("\n"),
  options: { ...INPUT_OPTIONS, aggregation: { type: "string" } },
  positionals: true,
  async run(values: Values, positionals: string[], io: CliIO): Promise<number> {
    const aggregation = (stringOpt(values, "aggregation") ?? "none") as Aggregation;
    if (!AGGREGATIONS.includes(aggregation)) throw new UsageError("--aggregation", `is ${JSON.stringify(aggregation)}`, AGGREGATIONS.join(", "));
    const inputs = await taskInputs("ner", values, positionals, io);
    const model = await loadTaskModel("ner", values, io, "DistilBertForTokenClassification");
    const json = values.json === true;
    return eachInput(inputs, io, ({ text }) => tokenClassification(model, text, { aggregation }), async ({ text }, out, skipped) => {
      if (skipped !== undefined || out === undefined) return skippedLine(io, text, skipped ?? "", json);
      if (json) return writeLine(io.stdout, JSON.stringify(out));
      let s = printable(text, Infinity) + "\n";
      for (const e of out) {
        const label = "entity_group" in e ? (e as EntityGroup).entity_group : (e as TokenEntity).entity;
        s += `  ${printable(label, 40).padEnd(8)} ${num(e.score)}  ${printable(e.word, 80)}  [${e.start}, ${e.end})\n`;
      }
      if (out.length === 0) s += "  (no entities)\n";
      await writeWithBackpressure(io.stdout, s);
    });
  },
};

export const embedCommand: Command = {
  name: "embed",
  summary: "sentence embeddings (a sentence-transformers model; a bare encoder: mean pooling)",
  usage: [
    "distilbert-ts embed --model DIR [--json] [--out FILE.npy|FILE.jsonl] [TEXT ...]",
    "  a sentence-transformers folder uses its own Pooling/Dense/Normalize; a bare DistilBertModel is mean-pooled",
    "  --out FILE.npy: one float32 [texts, dim] array; FILE.jsonl: {\"text\", \"embedding\"} per line (written whole, then renamed)",
    ...INPUT_USAGE,
    ...ROW_USAGE,
  ].join("\n"),
  options: { ...INPUT_OPTIONS, out: { type: "string" } },
  positionals: true,
  async run(values: Values, positionals: string[], io: CliIO): Promise<number> {
    const out = stringOpt(values, "out");
    const kind = out === undefined ? undefined : out.endsWith(".npy") ? "npy" : out.endsWith(".jsonl") ? "jsonl" : null;
    if (kind === null) throw new UsageError("--out", `cannot tell the format of ${JSON.stringify(out)} from its extension`, "a .npy or .jsonl path");
    if (kind !== undefined && values.json === true) throw new UsageError("--json", "does not apply with --out (its extension sets the format)", "--out PATH.jsonl");
    const inputs = await taskInputs("embed", values, positionals, io);
    const model = await loadTaskModel("embed", values, io, "DistilBertModel");
    const sentence = model.head.output === "sequence";
    const json = values.json === true;
    // With --out, rows are kept until the end (a .npy header states the row count); null marks a skipped input.
    const rows: (number[] | null)[] = [];
    const texts: string[] = [];
    const skippedWhy: (string | undefined)[] = [];
    const embed = ({ text }: { text: string }) => (sentence ? featureExtraction(model, text) : featureExtraction(model, text, { pooling: "mean" })) as number[];
    let stopped: unknown;
    try {
      await eachInput(inputs, io, embed, async ({ text }, v, skipped) => {
        if (kind !== undefined) {
          rows.push(v ?? null);
          texts.push(text);
          skippedWhy.push(skipped);
        } else if (skipped !== undefined || v === undefined) await skippedLine(io, text, skipped ?? "", json);
        else if (json) await writeLine(io.stdout, JSON.stringify(v));
        else await writeLine(io.stdout, `${v.map((x) => num(x, 6)).join(" ")}  ${printable(text, Infinity)}`);
      }, out === undefined ? undefined : printable(out, Infinity));
    } catch (e) {
      // A bad input stops the run; what was done is still written (eachInput has said so), then the error.
      if (out === undefined || !(e instanceof DistilBertError)) throw e;
      stopped = e;
    }
    if (out !== undefined) {
      const dim = rows.find((r) => r !== null)?.length ?? model.head.width;
      if (kind === "npy") {
        // A skipped input's row is NaN: the array keeps one row per input, and no NaN row passes for an embedding.
        const data = new Float32Array(rows.length * dim).fill(NaN);
        rows.forEach((r, i) => r !== null && data.set(r, i * dim));
        await writeNpy(out, data, [rows.length, dim]);
      } else {
        const w = await AtomicFileWriter.open(out);
        try {
          await w.write(texts.map((t, i) => JSON.stringify(skippedWhy[i] === undefined ? { text: t, embedding: rows[i] } : { text: t, embedding: null, skipped: skippedWhy[i] }) + "\n").join(""));
          await w.commit();
        } catch (e) {
          await w.abort();
          throw e;
        }
      }
      if (stopped !== undefined) throw stopped;
      const n = skippedWhy.filter((s) => s !== undefined).length;
      const done = rows.length - n;
      const skippedNote = n > 0 ? `; ${n} input${n === 1 ? "" : "s"} skipped (${kind === "npy" ? "NaN rows" : "\"embedding\": null"})` : "";
      io.stderr.write(`${done} embedding${done === 1 ? "" : "s"} of ${dim} dimensions in ${printable(out, Infinity)}${skippedNote}\n`);
    }
    return 0;
  },
};
