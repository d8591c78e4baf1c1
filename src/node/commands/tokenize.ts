import { InputError, UsageError } from "../../errors.js";
import { loadTokenizer, type Encoding, type WordPieceTokenizer } from "../../tokenizer/index.js";
import { resolveModelDir, stringOpt, writeLine, type CliIO, type Command, type Values } from "../cli-support.js";
import { decodeLine, splitLines } from "../formats/lines.js";
import { loadTokenizerFromDir, readFileChecked } from "../model-dir.js";

/**
 * --vocab FILE (vocab.txt or tokenizer.json), else --model DIR (a model or tokenizer-only folder, as AutoTokenizer
 * picks its files), else the default downloaded model (as every command that needs a model does).
 */
async function tokenizerOf(values: Values, io: CliIO): Promise<WordPieceTokenizer> {
  const vocab = stringOpt(values, "vocab");
  const model = stringOpt(values, "model");
  if (vocab !== undefined && model !== undefined) throw new UsageError("tokenize", "both --vocab and --model given", "at most one of --model DIR or --vocab FILE");
  if (vocab === undefined) return loadTokenizerFromDir(await resolveModelDir(model, io));
  const text = new TextDecoder().decode(await readFileChecked(vocab));
  return vocab.endsWith(".json")
    ? loadTokenizer({ tokenizerJson: text }, { sources: { tokenizerJson: vocab } })
    : loadTokenizer({ vocab: text }, { sources: { vocab } });
}

/** Plain: the word pieces, then their ids (one line per text, so stdin lines and output lines pair up). */
function formatEncoding(e: Encoding, json: boolean): string {
  if (!json) return `${e.tokens.join(" ")}  (${e.ids.join(" ")})`;
  return JSON.stringify({ input_ids: e.ids, tokens: e.tokens, offsets: e.offsets, word_ids: e.wordIds, sequence_ids: e.sequenceIds });
}

export const tokenizeCommand: Command = {
  name: "tokenize",
  summary: "show the WordPiece ids, tokens and offsets of texts",
  usage: [
    "distilbert-ts tokenize [--model DIR | --vocab FILE] [--pair TEXT] [--json] [TEXT ...]",
    "  prints each text's word pieces and their ids, one line per text; --json: {\"input_ids\",\"tokens\",\"offsets\",",
    "  \"word_ids\",\"sequence_ids\"} (offsets in UTF-16 units of each token's own text)",
    "  each TEXT is a separate text (quote a text with spaces); without TEXT, one text per stdin line",
    "  DIR: a model or tokenizer folder (tokenizer.json, or vocab.txt with tokenizer_config.json); --model defaults",
    "  to the model `distilbert-ts download` fetched; --pair TEXT: encode each text with TEXT as its second sequence",
  ].join("\n"),
  options: { model: { type: "string" }, vocab: { type: "string" }, pair: { type: "string" }, json: { type: "boolean" } },
  positionals: true,
  async run(values: Values, texts: string[], io: CliIO): Promise<number> {
    const tok = await tokenizerOf(values, io);
    const json = values.json === true;
    const pair = stringOpt(values, "pair");
    const show = (text: string) => formatEncoding(tok.encode(text, { maxLength: Infinity, pair }), json);
    for (const t of texts) await writeLine(io.stdout, show(t));
    if (texts.length > 0) return 0;
    // Bytes first, as classify reads stdin: a line that is not UTF-8 is reported, not turned into U+FFFD.
    for await (const l of splitLines(io.stdin, "stdin")) {
      const text = decodeLine(l.bytes);
      if (text === undefined) throw new InputError(`stdin:${l.lineNo}`, "is not valid UTF-8", "UTF-8 text");
      await writeLine(io.stdout, show(text));
    }
    return 0;
  },
};
