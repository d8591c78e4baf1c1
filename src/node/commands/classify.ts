import type { Classification } from "../../model/classifier.js";
import { readLines, writeLine, loadCliModel, type CliIO, type Command, type Values } from "../cli-support.js";

export function formatClassification(text: string, c: Classification, json: boolean): string {
  if (json) {
    return JSON.stringify({ text, label: c.label, score: c.score, scores: c.scores, logits: c.logits, tokens: c.tokens, truncated: c.truncated });
  }
  return `${c.label} ${c.score.toFixed(4)}${c.truncated ? " (truncated)" : ""}  ${text}`;
}

export const classifyCommand: Command = {
  name: "classify",
  summary: "label texts (arguments, or one per stdin line) with the model",
  usage: "distilbert-ts classify --model DIR [--json] [TEXT ...]\n  without TEXT, reads one text per line from stdin and answers each line as it arrives",
  options: { model: { type: "string" }, json: { type: "boolean" } },
  positionals: true,
  async run(values: Values, texts: string[], io: CliIO): Promise<number> {
    const model = await loadCliModel(values, io);
    const json = values.json === true;
    if (texts.length > 0) {
      const results = await model.classify(texts);
      for (let i = 0; i < texts.length; i++) await writeLine(io.stdout, formatClassification(texts[i], results[i], json));
      return 0;
    }
    for await (const line of readLines(io.stdin)) {
      await writeLine(io.stdout, formatClassification(line, await model.classify(line), json));
    }
    return 0;
  },
};
