/** fill-mask, ner and embed: the pipelines of src/pipelines on the command line. */
import { UsageError } from "../../errors.js";
import type { FillMaskResult } from "../../pipelines/fill-mask.js";
import { fillMask } from "../../pipelines/fill-mask.js";
import { featureExtraction } from "../../pipelines/feature-extraction.js";
import { AGGREGATIONS, type Aggregation, type EntityGroup, type TokenEntity, tokenClassification } from "../../pipelines/token-classification.js";
import { printable } from "../../printable.js";
import { stringOpt, writeLine, type Command, type CliIO, type Values } from "../cli-support.js";
import { positiveInt } from "../formats/batch.js";
import { AtomicFileWriter } from "../formats/output.js";
import { writeNpy } from "../npy.js";
import { INPUT_OPTIONS, INPUT_USAGE, loadTaskModel, num, taskInputs } from "../task-input.js";

export const fillMaskCommand: Command = {
  name: "fill-mask",
  summary: "the likeliest words for each [MASK] of a text (a masked-LM model)",
  usage: ["distilbert-ts fill-mask --model DIR [--top-k K] [--json] [TEXT ...]", "  --top-k: candidates per mask (default 5)", ...INPUT_USAGE].join("\n"),
  options: { ...INPUT_OPTIONS, "top-k": { type: "string" } },
  positionals: true,
  async run(values: Values, positionals: string[], io: CliIO): Promise<number> {
    const topK = positiveInt(stringOpt(values, "top-k") ?? "5", "--top-k");
    const inputs = taskInputs("fill-mask", values, positionals, io);
    const model = await loadTaskModel("fill-mask", values, io);
    for await (const { text } of inputs) {
      const out = fillMask(model, text, { topK });
      if (values.json === true) {
        await writeLine(io.stdout, JSON.stringify(out));
        continue;
      }
      const perMask = (Array.isArray(out[0]) ? out : [out]) as FillMaskResult[][];
      let s = printable(text, Infinity) + "\n";
      perMask.forEach((cands, m) => {
        if (perMask.length > 1) s += `  mask ${m + 1}:\n`;
        for (const c of cands) s += `  ${num(c.score)}  ${printable(c.token_str, 60).padEnd(16)}  ${printable(c.sequence, Infinity)}\n`;
      });
      await io.stdout.write(s);
    }
    return 0;
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
  ].join("\n"),
  options: { ...INPUT_OPTIONS, aggregation: { type: "string" } },
  positionals: true,
  async run(values: Values, positionals: string[], io: CliIO): Promise<number> {
    const aggregation = (stringOpt(values, "aggregation") ?? "none") as Aggregation;
    if (!AGGREGATIONS.includes(aggregation)) throw new UsageError("--aggregation", `is ${JSON.stringify(aggregation)}`, AGGREGATIONS.join(", "));
    const inputs = taskInputs("ner", values, positionals, io);
    const model = await loadTaskModel("ner", values, io);
    for await (const { text } of inputs) {
      const out = tokenClassification(model, text, { aggregation });
      if (values.json === true) {
        await writeLine(io.stdout, JSON.stringify(out));
        continue;
      }
      let s = printable(text, Infinity) + "\n";
      for (const e of out) {
        const label = "entity_group" in e ? (e as EntityGroup).entity_group : (e as TokenEntity).entity;
        s += `  ${printable(label, 40).padEnd(8)} ${num(e.score)}  ${printable(e.word, 80)}  [${e.start}, ${e.end})\n`;
      }
      if (out.length === 0) s += "  (no entities)\n";
      await io.stdout.write(s);
    }
    return 0;
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
  ].join("\n"),
  options: { ...INPUT_OPTIONS, out: { type: "string" } },
  positionals: true,
  async run(values: Values, positionals: string[], io: CliIO): Promise<number> {
    const out = stringOpt(values, "out");
    const kind = out === undefined ? undefined : out.endsWith(".npy") ? "npy" : out.endsWith(".jsonl") ? "jsonl" : null;
    if (kind === null) throw new UsageError("--out", `cannot tell the format of ${JSON.stringify(out)} from its extension`, "a .npy or .jsonl path");
    if (kind !== undefined && values.json === true) throw new UsageError("--json", "does not apply with --out (its extension sets the format)", "--out PATH.jsonl");
    const inputs = taskInputs("embed", values, positionals, io);
    const model = await loadTaskModel("embed", values, io);
    const sentence = model.model.output === "sequence";
    const rows: number[][] = [];
    const texts: string[] = [];
    for await (const { text } of inputs) {
      const v = (sentence ? featureExtraction(model, text) : featureExtraction(model, text, { pooling: "mean" })) as number[];
      if (kind !== undefined) {
        rows.push(v);
        texts.push(text);
      } else if (values.json === true) await writeLine(io.stdout, JSON.stringify(v));
      else await writeLine(io.stdout, `${v.map((x) => num(x, 6)).join(" ")}  ${printable(text, Infinity)}`);
    }
    if (out !== undefined) {
      const dim = rows.length > 0 ? rows[0].length : model.model.width;
      if (kind === "npy") await writeNpy(out, Float32Array.from(rows.flat()), [rows.length, dim]);
      else {
        const w = await AtomicFileWriter.open(out);
        try {
          await w.write(texts.map((t, i) => JSON.stringify({ text: t, embedding: rows[i] }) + "\n").join(""));
          await w.commit();
        } catch (e) {
          await w.abort();
          throw e;
        }
      }
      io.stderr.write(`${rows.length} embedding${rows.length === 1 ? "" : "s"} of ${dim} dimensions in ${printable(out, Infinity)}\n`);
    }
    return 0;
  },
};
