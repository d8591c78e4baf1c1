/**
 * Every failure the engine reports on purpose is one of these classes, so that callers (and the CLI, which maps
 * them to exit code 2) can tell "your input or model is wrong" from "the engine has a bug".
 *
 * Messages follow one pattern: `<where>: <what was wrong>[; expected <what was expected>]`.
 */
export class DistilBertError extends Error {
  // Spelled out rather than new.target.name: a minifier renames classes (the browser bundle is minified).
  override name = "DistilBertError";
  /** The file, tensor or argument the problem is in (e.g. "model.safetensors", "config.json"). */
  readonly where: string;

  constructor(where: string, problem: string, expected?: string) {
    super(`${where}: ${problem}${expected !== undefined ? `; expected ${expected}` : ""}`);
    this.where = where;
  }
}

/** A safetensors file that breaks the format (header, dtypes, offsets, sizes). */
export class SafetensorsError extends DistilBertError {
  override name = "SafetensorsError";
}

/** A config.json the engine cannot run: missing, malformed or unsupported fields. */
export class ConfigError extends DistilBertError {
  override name = "ConfigError";
}

/** Weights that do not fit the config: a missing tensor, a wrong shape or dtype, non-finite values. */
export class WeightsError extends DistilBertError {
  override name = "WeightsError";
}

/** A vocab.txt or tokenizer.json the tokenizer cannot use. */
export class TokenizerError extends DistilBertError {
  override name = "TokenizerError";
}

/** Bad arguments to the API: ids out of range, ragged batches, sequences longer than the model allows. */
export class InputError extends DistilBertError {
  override name = "InputError";
}

/** A file or folder that cannot be read: missing, unreadable, or not what it should be. */
export class FileError extends DistilBertError {
  override name = "FileError";
}

/** Bad command-line usage: unknown flags, missing arguments. */
export class UsageError extends DistilBertError {
  override name = "UsageError";
}

/** A model used after its dispose(). */
export class DisposedError extends DistilBertError {
  override name = "DisposedError";
}
