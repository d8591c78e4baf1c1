/** Types for make-hostile-corpus.mjs, which the tests import. */
export interface HostileCase {
  name: string;
  /** The file the case breaks (or removes), relative to the case folder. */
  file: "model.safetensors" | "config.json" | "vocab.txt" | "tokenizer.json";
  rule: string;
  /** Name of the DistilBertError subclass the loader must throw. */
  error: "SafetensorsError" | "ConfigError" | "WeightsError" | "TokenizerError" | "FileError";
  /** A fragment of the message. */
  message: string;
  options?: { checkWeights?: boolean };
  /** "tokenizer.json": the folder holds tokenizer.json instead of vocab.txt. */
  tokenizer?: "tokenizer.json";
}
export const HOSTILE_DIR: string;
export const DEFAULT_TINY: string;
/** Relative path (under test/hostile) → bytes, and the case table; writes nothing. */
export function buildCorpus(tinyDir?: string): { files: Map<string, Uint8Array>; cases: HostileCase[] };
