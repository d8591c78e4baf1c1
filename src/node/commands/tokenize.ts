import { UsageError } from "../../errors.js";
import { loadTokenizer, type WordPieceTokenizer } from "../../tokenizer/index.js";
import { readLines, writeLine, stringOpt, type CliIO, type Command, type Values } from "../cli-support.js";
import { loadTokenizerFromDir, readFileChecked } from "../model-dir.js";

async function tokenizerOf(values: Values): Promise<WordPieceTokenizer> {
  const vocab = stringOpt(values, "vocab");
  const model = stringOpt(values, "model");
  if ((vocab === undefined) === (model === undefined)) {
    throw new UsageError("tokenize", vocab === undefined ? "no tokenizer given" : "both --vocab and --model given", "exactly one of --model DIR or --vocab FILE");
  }
  // A folder: its tokenizer as AutoTokenizer picks it (no config.json needed); a file: vocab.txt or tokenizer.json.
  if (model !== undefined) return loadTokenizerFromDir(model);
  const path = vocab as string;
  const text = new TextDecoder().decode(await readFileChecked(path));
  return path.endsWith(".json")
    ? loadTokenizer({ tokenizerJson: text }, { sources: { tokenizerJson: path } })
    : loadTokenizer({ vocab: text }, { sources: { vocab: path } });
}

export const tokenizeCommand: Command = {
  name: "tokenize",
  summary: "show the WordPiece ids, tokens and offsets of texts",
  usage:
    "distilbert-ts tokenize (--model DIR | --vocab FILE) [--pair TEXT] [--json] [TEXT]\n" +
    "  DIR: a model or tokenizer folder (tokenizer.json, or vocab.txt with tokenizer_config.json)\n" +
    "  prints {\"input_ids\",\"tokens\",\"offsets\",\"word_ids\",\"sequence_ids\"} as JSON (offsets in UTF-16 units of\n" +
    "  each token's own text); without TEXT, one text per stdin line, one JSON object per line",
  options: { model: { type: "string" }, vocab: { type: "string" }, pair: { type: "string" }, json: { type: "boolean" } },
  positionals: true,
  async run(values: Values, texts: string[], io: CliIO): Promise<number> {
    const tok = await tokenizerOf(values);
    const pair = stringOpt(values, "pair");
    const show = (text: string) => {
      const e = tok.encode(text, { maxLength: Infinity, pair });
      return JSON.stringify({ input_ids: e.ids, tokens: e.tokens, offsets: e.offsets, word_ids: e.wordIds, sequence_ids: e.sequenceIds });
    };
    if (texts.length > 0) {
      await writeLine(io.stdout, show(texts.join(" ")));
      return 0;
    }
    for await (const line of readLines(io.stdin)) await writeLine(io.stdout, show(line));
    return 0;
  },
};
