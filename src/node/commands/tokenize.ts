import { UsageError } from "../../errors.js";
import { WordPieceTokenizer } from "../../tokenizer/index.js";
import { readLines, writeLine, stringOpt, type CliIO, type Command, type Values } from "../cli-support.js";
import { findModelFiles, readFileChecked } from "../model-dir.js";

async function loadTokenizer(values: Values): Promise<WordPieceTokenizer> {
  const vocab = stringOpt(values, "vocab");
  const model = stringOpt(values, "model");
  if ((vocab === undefined) === (model === undefined)) {
    throw new UsageError("tokenize", vocab === undefined ? "no tokenizer given" : "both --vocab and --model given", "exactly one of --model DIR or --vocab FILE");
  }
  const path = vocab ?? (await findModelFiles(model as string)).tokenizer;
  const text = new TextDecoder().decode(await readFileChecked(path));
  return path.endsWith(".json") ? WordPieceTokenizer.fromTokenizerJson(text, { source: path }) : WordPieceTokenizer.fromVocab(text, { source: path });
}

export const tokenizeCommand: Command = {
  name: "tokenize",
  summary: "show the WordPiece ids, tokens and offsets of texts",
  usage: "distilbert-ts tokenize (--model DIR | --vocab FILE) [--json] [TEXT]\n  prints {\"input_ids\",\"tokens\",\"offsets\"} as JSON; without TEXT, one text per stdin line, one JSON object per line",
  options: { model: { type: "string" }, vocab: { type: "string" }, json: { type: "boolean" } },
  positionals: true,
  async run(values: Values, texts: string[], io: CliIO): Promise<number> {
    const tok = await loadTokenizer(values);
    const show = (text: string) => {
      const e = tok.encode(text, { maxLength: Infinity });
      return JSON.stringify({ input_ids: e.ids, tokens: e.tokens, offsets: e.offsets });
    };
    if (texts.length > 0) {
      await writeLine(io.stdout, show(texts.join(" ")));
      return 0;
    }
    for await (const line of readLines(io.stdin)) await writeLine(io.stdout, show(line));
    return 0;
  },
};
