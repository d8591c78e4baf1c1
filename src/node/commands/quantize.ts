import { copyFile, mkdir, realpath, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FileError, UsageError, WeightsError } from "../../errors.js";
import { Q8_METADATA_KEY, Q8_METADATA_VALUE, scaleName } from "../../model/weights.js";
import { SafetensorsFile, writeSafetensors, type WriteTensor } from "../../safetensors/index.js";
import { quantizeRows } from "../../tensor/quant.js";
import { stringOpt, writeLine, type CliIO, type Command, type Values } from "../cli-support.js";
import { findModelFiles, loadModelFromDir, openWeights } from "../model-dir.js";

/** The matrices a q8 checkpoint stores as I8: every Linear weight and the word embeddings (quant.ts's rules). */
const Q8_TENSOR = /(?:^|\.)(?:q_lin|k_lin|v_lin|out_lin|lin1|lin2|pre_classifier|classifier)\.weight$|(?:^|\.)word_embeddings\.weight$/;
/** Files copied beside the weights when present (config.json always is: loading checked it). */
const COPIED = ["config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];
const FLOATS = new Set(["F32", "F16", "BF16", "F64"]);

export const quantizeCommand: Command = {
  name: "quantize",
  summary: "write a q8 copy of a model folder: int8 weights with per-row scales (a quarter of the size)",
  usage: [
    "distilbert-ts quantize --model DIR --out DIR2",
    "  writes DIR2/model.safetensors with every Linear weight and the word embeddings as I8 (one F32 scale per output",
    "  channel or row, in NAME_scale), everything else as F32, and copies the config and tokenizer files. The copy",
    "  loads as q8 with no flag (docs/quantization.md has the rules and what they cost in fidelity).",
  ].join("\n"),
  options: { model: { type: "string" }, out: { type: "string" } },
  async run(values: Values, _positionals: string[], io: CliIO): Promise<number> {
    const from = stringOpt(values, "model");
    const to = stringOpt(values, "out");
    if (from === undefined || to === undefined) throw new UsageError("quantize", `--${from === undefined ? "model" : "out"} is missing`, "--model DIR --out DIR2");
    const files = await findModelFiles(from);
    // Refuse to write into the source folder: the new weights would replace the ones being read.
    const real = (p: string) => realpath(p).catch(() => null);
    const [realFrom, realTo] = await Promise.all([real(from), real(to)]);
    if (realTo !== null && realTo === realFrom) throw new UsageError("--out", "is the --model folder", "another folder");
    // The source must be a valid model first (every check of loading applies), in f32 on the JS backend: cheap.
    await loadModelFromDir(from, { backend: "js", dtype: "f32" }).then(() => undefined);
    const opened = await openWeights(files.weights);
    let bytes: Uint8Array;
    let quantized = 0;
    try {
      const file = opened.weights instanceof Uint8Array ? SafetensorsFile.parse(opened.weights, { source: files.weights }) : SafetensorsFile.open(opened.weights, { source: files.weights });
      if (file.metadata.get(Q8_METADATA_KEY) !== undefined) throw new WeightsError(files.weights, "is already quantized", "an f32, f16 or bf16 model");
      const out: WriteTensor[] = [];
      for (const name of file.names()) {
        const info = file.info(name);
        if (!FLOATS.has(info.dtype)) {
          out.push({ name, dtype: info.dtype, shape: [...info.shape], data: file.bytes(name).slice() });
          continue;
        }
        const data = file.getFloat32(name);
        if (Q8_TENSOR.test(name) && info.shape.length === 2) {
          const q = quantizeRows(data, info.shape[0], info.shape[1], `${files.weights}: tensor "${name}"`);
          out.push({ name, dtype: "I8", shape: [...info.shape], data: q.q });
          out.push({ name: scaleName(name), dtype: "F32", shape: [info.shape[0]], data: q.scales });
          quantized++;
        } else out.push({ name, dtype: "F32", shape: [...info.shape], data: data.slice() });
      }
      const metadata = new Map(file.metadata);
      metadata.set("format", metadata.get("format") ?? "pt");
      metadata.set(Q8_METADATA_KEY, Q8_METADATA_VALUE);
      bytes = writeSafetensors(out, metadata);
    } finally {
      opened.close();
    }
    try {
      await mkdir(to, { recursive: true });
      await writeFile(join(to, "model.safetensors"), bytes);
      for (const name of COPIED) await copyFile(join(from, name), join(to, name)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "ENOENT" || name === "config.json") throw e;
      });
    } catch (e) {
      throw new FileError(to, `cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    // What was written must load, as q8, with no flag.
    const check = await loadModelFromDir(to, { backend: "js" });
    if ((check.loadReport.dtypes.I8 ?? 0) !== quantized) throw new Error(`quantize: ${quantized} tensors written as I8 but ${check.loadReport.dtypes.I8 ?? 0} loaded as such`);
    await writeLine(io.stdout, `${to}: ${quantized} matrices as I8, model.safetensors ${bytes.length} bytes`);
    return 0;
  },
};
