import { InputError, UsageError } from "../../errors.js";
import { WordPieceTokenizer, type Encoding } from "../../tokenizer/index.js";
import { resolveModelDir, stringOpt, writeLine, type CliIO, type Command, type Values } from "../cli-support.js";
import { decodeLine, splitLines } from "../formats/lines.js";
import { findModelFiles, readFileChecked } from "../model-dir.js";

/** --vocab FILE, else --model DIR, else the default downloaded model (as every command that needs a model does). */
async function loadTokenizer(values: Values, io: CliIO): Promise<WordPieceTokenizer> {
  const vocab = stringOpt(values, "vocab");
  const model = stringOpt(values, "model");
  if (vocab !== undefined && model !== undefined) throw new UsageError("tokenize", "both --vocab and --model given", "at most one of --model DIR or --vocab FILE");
  const path = vocab ?? (await findModelFiles(await resolveModelDir(model, io))).tokenizer;
  const text = new TextDecoder().decode(await readFileChecked(path));
  return path.endsWith(".json") ? WordPieceTokenizer.fromTokenizerJson(text, { source: path }) : WordPieceTokenizer.fromVocab(text, { source: path });
}

/** Plain: the word pieces, then their ids (one line per text, so stdin lines and output lines pair up). */
function formatEncoding(e: Encoding, json: boolean): string {
  if (json) return JSON.stringify({ input_ids: e.ids, tokens: e.tokens, offsets: e.offsets });
  return `${e.tokens.join(" ")}  (${e.ids.join(" ")})`;
}

export const tokenizeCommand: Command = {
  name: "tokenize",
  summary: "show the WordPiece ids, tokens and offsets of texts",
  usage: [
    "distilbert-ts tokenize [--model DIR | --vocab FILE] [--json] [TEXT ...]",
    "  prints each text's word pieces and their ids, one line per text; --json: {\"input_ids\",\"tokens\",\"offsets\"}",
    "  each TEXT is a separate text (quote a text with spaces); without TEXT, one text per stdin line",
    "  --model defaults to the model `distilbert-ts download` fetched",
  ].join("\n"),
  options: { model: { type: "string" }, vocab: { type: "string" }, json: { type: "boolean" } },
  positionals: true,
  async run(values: Values, texts: string[], io: CliIO): Promise<number> {
    const tok = await loadTokenizer(values, io);
    const json = values.json === true;
    const show = (text: string) => formatEncoding(tok.encode(text, { maxLength: Infinity }), json);
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
