import { UsageError } from "../../errors.js";
import { loadCliModel, stringOpt, writeLine, type CliIO, type Command, type Values } from "../cli-support.js";

export const inspectCommand: Command = {
  name: "inspect",
  summary: "run one input and print its logits, hidden states and attentions",
  usage: "distilbert-ts inspect --model DIR --json (--ids 101,7592,102 | TEXT)\n  hidden_states [n_layers+1][T][dim] (embeddings output first), attentions [n_layers][n_heads][T][T]",
  options: { model: { type: "string" }, json: { type: "boolean" }, ids: { type: "string" } },
  positionals: true,
  async run(values: Values, texts: string[], io: CliIO): Promise<number> {
    const idsArg = stringOpt(values, "ids");
    if ((idsArg === undefined) === (texts.length === 0)) {
      throw new UsageError("inspect", idsArg === undefined ? "nothing to inspect" : "both --ids and TEXT given", "either --ids 101,7592,102 or a TEXT");
    }
    const model = await loadCliModel(values, io);
    let ids: number[];
    let tokens: string[];
    if (idsArg !== undefined) {
      ids = idsArg.split(",").map((s, i) => {
        const v = Number(s.trim());
        if (s.trim() === "" || !Number.isInteger(v)) throw new UsageError("--ids", `item ${i + 1} (${JSON.stringify(s)}) is not an integer`, "comma-separated token ids");
        return v;
      });
      tokens = ids.map((id) => model.tokenizer.idToToken(id) ?? "[?]");
    } else {
      const e = model.tokenizer.encode(texts.join(" "), { maxLength: model.maxLength });
      ids = e.ids;
      tokens = e.tokens;
    }
    const out = model.forward([ids], undefined, { outputHiddenStates: true, outputAttentions: true });
    const logits = Array.from(out.logits.data);
    const probs = Array.from(out.probs.data);
    if (values.json === true) {
      const first = (t: { toNested(): unknown }) => (t.toNested() as unknown[])[0];
      await writeLine(io.stdout, JSON.stringify({
        input_ids: ids,
        tokens,
        logits,
        probs,
        hidden_states: (out.hiddenStates ?? []).map(first),
        attentions: (out.attentions ?? []).map(first),
      }));
    } else {
      const best = probs.indexOf(Math.max(...probs));
      await writeLine(io.stdout, `tokens (${ids.length}): ${tokens.join(" ")}`);
      await writeLine(io.stdout, `prediction: ${model.config.labels[best]} ${probs[best].toFixed(4)}`);
      model.config.labels.forEach((l, j) => void writeLine(io.stdout, `  ${l}: logit ${logits[j].toFixed(6)}  p ${probs[j].toFixed(6)}`));
      await writeLine(io.stdout, `hidden_states: ${model.config.nLayers + 1} × [${ids.length}, ${model.config.dim}]; attentions: ${model.config.nLayers} × [${model.config.nHeads}, ${ids.length}, ${ids.length}] (use --json to print them)`);
    }
    return 0;
  },
};
