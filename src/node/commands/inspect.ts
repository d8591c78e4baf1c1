import { atMostOneText, labelOption } from "../cli-rules.js";
import { decodeTextFile } from "../formats/lines.js";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseHeadMaskText } from "../../analysis/head-mask.js";
import { studyInput } from "../../analysis/study.js";
import { FileError, UsageError } from "../../errors.js";
import { GradientEngine } from "../../grad/engine.js";
import { activationTable } from "../../model/activations.js";
import type { Tensor } from "../../tensor/tensor.js";
import { renderStudyReport } from "../../report/study-report.js";
import { parseConfig } from "../../model/config.js";
import { MODEL_OPTIONS, MODEL_USAGE, loadCliModel, resolveModelDir, stringOpt, writeLine, type CliIO, type Command, type Values } from "../cli-support.js";
import { findModelFiles, readFileChecked } from "../model-dir.js";
import { writeNpy } from "../npy.js";
import { headLines } from "./inspect-head.js";
import { printable } from "../../printable.js";

export const inspectCommand: Command = {
  name: "inspect",
  summary: "run one input: logits, hidden states, attentions, captured activations (.npy), an HTML report",
  usage: [
    "distilbert-ts inspect [--model DIR] [--json] [--capture PATTERN ...] [--out DIR] [--head-mask MASK] [--html FILE] [--context C] [--position N] (--ids 101,7592,102 | TEXT)",
    "       distilbert-ts inspect [--model DIR] --list [--json]",
    "  TEXT is one text (quote it: \"the film was fine\"); several TEXT arguments are refused, not joined",
    "  --list            every activation --capture can name: name, shape, Hugging Face module",
    "  any head: a classifier prints its labels; a masked LM the top words at each [MASK]; token classification each",
    "  token's label; question answering (TEXT is the question, --context C the context) the best span; an embedding",
    "  model its vector",
    "  --context C       question answering: the context (TEXT is the question), encoded as the pair [CLS] Q [SEP] C [SEP]",
    "  --position N      the token row --html's lens and occlusion read: a masked LM's [MASK] (default the first one),",
    "                    a token classifier's token (default the first word piece)",
    "  --json            print everything as one JSON object: hidden_states [n_layers+1][T][dim] (embeddings output",
    "                    first), attentions [n_layers][n_heads][T][T], and \"captured\": {name: nested arrays}",
    "  --capture PATTERN activations to capture, by name or pattern (repeat it, or separate with commas):",
    "                    \"layer.*.attn.probs\", \"layer.0.**\", \"head.logits\"; names and shapes: docs/activations.md",
    "  --out DIR         write each captured activation as DIR/<name>.npy (NumPy format 1.0) plus DIR/index.json",
    "  --head-mask MASK  multiply each head's attention probabilities (Hugging Face's head_mask): one row of n_heads",
    "                    values per layer, rows separated by ';', e.g. \"1,0,1;1,1,0.5\"; one row applies to every layer",
    "  --html FILE       write a self-contained HTML report (attention maps, [CLS] attention, hidden-state norms,",
    "                    logit lens, integrated gradients, rollout and occlusion attributions); for a masked LM the lens",
    "                    decodes each layer's words at the [MASK]",
    "  --gradients NAME  gradients of the target's logit w.r.t. activations (names or patterns, repeat or separate with",
    "                    commas: embeddings.out, layer.{i}.out, layer.{i}.attn.probs, …); --json adds \"gradients\": {name: [T][dim]}",
    "  --target LABEL    the label whose logit --gradients differentiates (default: the predicted one); a masked LM:",
    "                    a vocabulary token; QA: start or end. On a token head --gradients takes the row at --position",
    "                    (a masked LM: the first [MASK] by default)",
    MODEL_USAGE,
  ].join("\n"),
  options: {
    ...MODEL_OPTIONS,
    model: { type: "string" },
    json: { type: "boolean" },
    ids: { type: "string" },
    capture: { type: "string", multiple: true },
    out: { type: "string" },
    "head-mask": { type: "string" },
    html: { type: "string" },
    list: { type: "boolean" },
    gradients: { type: "string", multiple: true },
    target: { type: "string" },
    context: { type: "string" },
    position: { type: "string" },
  },
  positionals: true,
  async run(values: Values, texts: string[], io: CliIO): Promise<number> {
    const idsArg = stringOpt(values, "ids");
    if (values.list === true) {
      const stray = ["ids", "capture", "out", "head-mask", "html", "context", "position"].find((o) => values[o] !== undefined);
      if (stray !== undefined || texts.length > 0) throw new UsageError("--list", `does not run an input, so ${stray !== undefined ? `--${stray}` : "TEXT"} does not apply`, "--list alone (with --model DIR, --json)");
      return listActivations(values, io);
    }
    atMostOneText("inspect", texts);
    if ((idsArg === undefined) === (texts.length === 0)) {
      throw new UsageError("inspect", idsArg === undefined ? "nothing to inspect" : "both --ids and TEXT given", "either --ids 101,7592,102 or a TEXT");
    }
    const capture = ((values.capture as string[] | undefined) ?? []).flatMap((c) => c.split(",")).map((c) => c.trim()).filter((c) => c !== "");
    const outDir = stringOpt(values, "out");
    if (outDir !== undefined && capture.length === 0) throw new UsageError("--out", "nothing to write", "--capture PATTERN with --out DIR");
    const htmlPath = stringOpt(values, "html");
    const json = values.json === true;
    const gradNames = ((values.gradients as string[] | undefined) ?? []).flatMap((c) => c.split(",")).map((c) => c.trim()).filter((c) => c !== "");
    if (stringOpt(values, "target") !== undefined && gradNames.length === 0) throw new UsageError("--target", "nothing to differentiate", "--gradients NAME with --target LABEL");

    const context = stringOpt(values, "context");
    if (context !== undefined && idsArg !== undefined) throw new UsageError("--context", "is encoded with TEXT, and --ids gives the ids already", "TEXT --context C, or --ids with the pair's ids");
    const positionArg = stringOpt(values, "position");
    const position = positionArg === undefined ? undefined : Number(positionArg);
    if (position !== undefined && !(Number.isInteger(position) && position >= 0)) throw new UsageError("--position", `${JSON.stringify(positionArg)} is not a token position`, "an integer ≥ 0 (0 is [CLS])");
    if (position !== undefined && htmlPath === undefined && gradNames.length === 0) throw new UsageError("--position", "is what the report and the gradients read", "--html FILE or --gradients NAME with --position N");
    const model = await loadCliModel(values, io);
    const { config } = model;
    const arch = model.head.architecture;
    if (context !== undefined && arch !== "DistilBertForQuestionAnswering") throw new UsageError("--context", `is for question answering, and this model is a ${arch}`, "TEXT alone");
    const maskText = stringOpt(values, "head-mask");
    const headMask = maskText === undefined ? undefined : parseHeadMaskText(maskText, config.nLayers, config.nHeads);
    let ids: number[];
    let tokens: string[];
    const text = texts[0] ?? "";
    if (idsArg !== undefined) {
      ids = idsArg.split(",").map((s, i) => {
        const v = Number(s.trim());
        if (s.trim() === "" || !Number.isInteger(v)) throw new UsageError("--ids", `item ${i + 1} (${JSON.stringify(s)}) is not an integer`, "comma-separated token ids");
        return v;
      });
      tokens = ids.map((id) => model.tokenizer.idToToken(id) ?? "[?]");
    } else {
      const e = model.tokenizer.encode(text, { maxLength: model.maxLength, pair: context });
      ids = e.ids;
      tokens = e.tokens;
    }
    const out = model.forward([ids], undefined, { outputHiddenStates: true, outputAttentions: true, headMask, capture });
    const logits = Array.from(out.logits.data);
    const probs = Array.from(out.probs.data);
    const classifier = arch === "DistilBertForSequenceClassification";

    let gradients: Record<string, Tensor> = {};
    if (gradNames.length > 0) {
      const engine = new GradientEngine(model);
      const { maskId } = model.tokenizer;
      const firstMask = model.head.architecture === "DistilBertForMaskedLM" && maskId !== undefined && ids.includes(maskId) ? ids.indexOf(maskId) : undefined;
      const row = position ?? firstMask;
      const targetText = labelOption(model, stringOpt(values, "target"));
      let label: number;
      if (targetText !== undefined) label = engine.labelIndex(targetText);
      else if (model.head.architecture === "DistilBertForSequenceClassification") label = probs.indexOf(Math.max(...probs));
      else {
        // The largest output of the row the gradient is of (an unmasked pass, as the gradients are).
        const outputs = engine.run({ ids }, { kind: "logit", label: 0, position: row }, []).outputs;
        label = 0;
        for (let j = 1; j < outputs.length; j++) if (outputs[j] > outputs[label]) label = j;
      }
      gradients = engine.gradients({ ids }, { kind: "logit", label, position: row }, gradNames).gradients;
    }
    if (outDir !== undefined) await writeCaptured(outDir, out.captured, model.config, activationTable(config, model.model), { ids, tokens, logits, probs, headMask });
    if (htmlPath !== undefined) {
      const study = studyInput(model, idsArg !== undefined ? { ids, tokens } : { text, pair: context }, { headMask, position });
      try {
        await writeFile(htmlPath, renderStudyReport(study, { modelName: stringOpt(values, "model"), generator: "distilbert-ts inspect" }));
      } catch (e) {
        throw new FileError(htmlPath, `cannot write the report (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "a writable file path");
      }
    }

    if (json) {
      const first = (t: Tensor) => (t.toNested() as unknown[])[0];
      const captured: Record<string, unknown> = {};
      for (const [name, t] of Object.entries(out.captured)) captured[name] = t.toNested();
      await writeLine(io.stdout, JSON.stringify({
        architecture: arch,
        input_ids: ids,
        tokens,
        // A sequence head's [labels] as before; a token head's [T][width], an embedding model's [width].
        logits: classifier ? logits : first(out.logits),
        probs: classifier ? probs : first(out.probs),
        ...(headMask ? { head_mask: headMask } : {}),
        hidden_states: (out.hiddenStates ?? []).map(first),
        attentions: (out.attentions ?? []).map(first),
        ...(capture.length > 0 ? { captured } : {}),
        ...(gradNames.length > 0 ? { gradients: Object.fromEntries(Object.entries(gradients).map(([n, t]) => [n, t.toNested()])) } : {}),
      }));
      return 0;
    }
    await writeLine(io.stdout, `tokens (${ids.length}): ${tokens.map((t) => printable(t, 40)).join(" ")}`);
    if (headMask) await writeLine(io.stdout, `head mask: ${headMask.map((r) => r.join(",")).join(";")}`);
    for (const line of headLines(model, ids, tokens, out)) await writeLine(io.stdout, line);
    await writeLine(io.stdout, `hidden_states: ${config.nLayers + 1} × [${ids.length}, ${config.dim}]; attentions: ${config.nLayers} × [${config.nHeads}, ${ids.length}, ${ids.length}] (use --json to print them)`);
    const names = Object.keys(out.captured);
    if (names.length > 0) {
      await writeLine(io.stdout, `captured ${names.length} activation${names.length === 1 ? "" : "s"}${outDir !== undefined ? ` → ${outDir}` : " (use --out DIR or --json to get the values)"}:`);
      for (const n of names) await writeLine(io.stdout, `  ${n} [${out.captured[n].shape.join(", ")}]`);
    }
    for (const [n, t] of Object.entries(gradients)) await writeLine(io.stdout, `gradient ${n} [${t.shape.join(", ")}] (use --json to print it)`);
    if (htmlPath !== undefined) await writeLine(io.stdout, `report: ${htmlPath}`);
    return 0;
  },
};

/** inspect --list: the activation table of the model's config (the weights are not needed, nor loaded). */
async function listActivations(values: Values, io: CliIO): Promise<number> {
  const files = await findModelFiles(await resolveModelDir(stringOpt(values, "model"), io));
  const config = parseConfig(decodeTextFile(await readFileChecked(files.config), files.config), files.config);
  // A sentence-transformers model's head names come from its modules (Dense widths in their own files): load it.
  const table = files.modules === undefined ? activationTable(config) : activationTable(config, (await loadCliModel(values, io)).model);
  const dims: Record<string, number> = { B: 1, H: config.nHeads, dim: config.dim, hidden: config.hiddenDim, dh: config.dim / config.nHeads, labels: config.labels.length, vocab: config.vocabSize };
  const shape = (s: readonly string[]) => s.map((d) => (d in dims ? `${d}=${dims[d]}` : d)).join(", ");
  if (values.json === true) {
    await writeLine(io.stdout, JSON.stringify(table.map((a) => ({ name: a.name, shape: a.shape, hf_path: a.hfPath, description: a.description }))));
    return 0;
  }
  const w = Math.max(...table.map((a) => a.name.length));
  const sw = Math.max(...table.map((a) => shape(a.shape).length)) + 2;
  await writeLine(io.stdout, `${"name".padEnd(w)}  ${"shape".padEnd(sw)}  Hugging Face module`);
  for (const a of table) await writeLine(io.stdout, `${a.name.padEnd(w)}  ${`[${shape(a.shape)}]`.padEnd(sw)}  ${a.hfPath}`);
  await writeLine(io.stdout, `T is the number of tokens; patterns: "layer.*.attn.probs" (one segment), "layer.0.**" (any depth); docs/activations.md`);
  return 0;
}

async function writeCaptured(
  dir: string,
  captured: Record<string, Tensor>,
  config: Parameters<typeof activationTable>[0],
  table: ReturnType<typeof activationTable>,
  run: { ids: number[]; tokens: string[]; logits: number[]; probs: number[]; headMask: number[][] | undefined },
): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new FileError(dir, `cannot create the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "a writable folder");
  }
  const info = new Map(table.map((a) => [a.name, a]));
  const activations = [];
  for (const [name, t] of Object.entries(captured)) {
    const file = `${name}.npy`;
    await writeNpy(join(dir, file), t.data, t.shape);
    const a = info.get(name)!;
    activations.push({ name, file, shape: t.shape, symbolic_shape: a.shape, dtype: "float32", hf_path: a.hfPath, description: a.description });
  }
  const index = {
    format: "distilbert-ts activations 1",
    input_ids: run.ids,
    tokens: run.tokens,
    logits: run.logits,
    probs: run.probs,
    labels: config.labels,
    head_mask: run.headMask ?? null,
    note: "each file is a NumPy .npy (format 1.0, little-endian float32, C order); numpy.load(path) reads it. B = 1 (one input).",
    activations,
  };
  try {
    await writeFile(join(dir, "index.json"), JSON.stringify(index, null, 2) + "\n");
  } catch (e) {
    throw new FileError(join(dir, "index.json"), `cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "a writable folder");
  }
}
