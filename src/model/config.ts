import { ConfigError } from "../errors.js";
import { describeValue, printable, quoted } from "../printable.js";

/** The parts of Hugging Face's DistilBertConfig the engine runs on, validated. */
export interface DistilBertConfig {
  readonly vocabSize: number;
  readonly dim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly hiddenDim: number;
  readonly maxPositionEmbeddings: number;
  readonly activation: "gelu" | "relu";
  readonly padTokenId: number;
  /** Label names by class index (id2label); length = number of labels. */
  readonly labels: readonly string[];
  readonly label2id: ReadonlyMap<string, number>;
  readonly sinusoidalPosEmbds: boolean;
  /**
   * Which head sits on the encoder, from `architectures[0]` (HF's AutoModel picks the class the same way).
   * A config without `architectures` is read as a sequence classifier, as this engine always did.
   */
  readonly architecture: Architecture;
  /** HF's `problem_type`: how a sequence classifier's logits become scores (softmax, sigmoid or none). */
  readonly problemType: ProblemType;
}

export const ARCHITECTURES = [
  "DistilBertForSequenceClassification",
  "DistilBertForMaskedLM",
  "DistilBertForQuestionAnswering",
  "DistilBertForTokenClassification",
  "DistilBertModel",
] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export type ProblemType = "single_label_classification" | "multi_label_classification" | "regression";
const PROBLEM_TYPES: readonly ProblemType[] = ["single_label_classification", "multi_label_classification", "regression"];

/**
 * Upper bounds that no real DistilBERT comes near; they exist so that a hostile config.json cannot make the engine
 * try to allocate terabytes before the weights file is even looked at.
 */
const LIMITS = {
  vocab_size: 1 << 24,
  dim: 1 << 16,
  n_layers: 1024,
  n_heads: 1 << 12,
  hidden_dim: 1 << 18,
  max_position_embeddings: 1 << 20,
  labels: 1 << 16,
} as const;

/** config.json field names, with the aliases Hugging Face's attribute_map accepts. */
const ALIASES: Record<string, string> = { hidden_size: "dim", num_attention_heads: "n_heads", num_hidden_layers: "n_layers" };

const DEFAULTS = {
  vocab_size: 30522,
  max_position_embeddings: 512,
  n_layers: 6,
  n_heads: 12,
  dim: 768,
  activation: "gelu",
  pad_token_id: 0,
} as const;

export function parseConfig(input: string | object, source = "config.json"): DistilBertConfig {
  let raw: unknown = input;
  if (typeof input === "string") {
    try {
      raw = JSON.parse(input);
    } catch (e) {
      throw new ConfigError(source, `not valid JSON (${printable((e as Error).message)})`);
    }
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(source, `top level is ${describe(raw)}`, "a JSON object");
  }
  const obj = new Map<string, unknown>(Object.entries(raw as Record<string, unknown>));
  for (const [alias, canonical] of Object.entries(ALIASES)) {
    if (obj.has(alias) && !obj.has(canonical)) obj.set(canonical, obj.get(alias));
  }

  const modelType = obj.get("model_type");
  if (modelType !== undefined && modelType !== "distilbert") {
    throw new ConfigError(source, `model_type is ${typeof modelType === "string" ? quoted(modelType) : describe(modelType)}`, '"distilbert"');
  }

  const int = (field: keyof typeof LIMITS, fallback: number | undefined, min = 1): number => {
    const v = obj.has(field) ? obj.get(field) : fallback;
    if (v === undefined) throw new ConfigError(source, `field "${field}" is missing`, "a positive integer");
    if (typeof v !== "number" || !Number.isInteger(v)) {
      throw new ConfigError(source, `field "${field}" is ${describe(v)}`, "an integer");
    }
    if (v < min || v > LIMITS[field]) {
      throw new ConfigError(source, `field "${field}" is ${v}`, `an integer from ${min} to ${LIMITS[field]}`);
    }
    return v;
  };

  const dim = int("dim", DEFAULTS.dim);
  const nHeads = int("n_heads", DEFAULTS.n_heads);
  if (dim % nHeads !== 0) {
    throw new ConfigError(source, `n_heads (${nHeads}) does not divide dim (${dim})`, "dim to be a multiple of n_heads");
  }
  const config = {
    vocabSize: int("vocab_size", DEFAULTS.vocab_size),
    dim,
    nLayers: int("n_layers", DEFAULTS.n_layers),
    nHeads,
    hiddenDim: int("hidden_dim", 4 * dim),
    maxPositionEmbeddings: int("max_position_embeddings", DEFAULTS.max_position_embeddings),
    activation: parseActivation(obj.has("activation") ? obj.get("activation") : DEFAULTS.activation, source),
    padTokenId: 0,
    sinusoidalPosEmbds: false,
    architecture: parseArchitecture(obj.get("architectures"), source),
    problemType: parseProblemType(obj.get("problem_type"), source),
    ...parseLabels(obj, source),
  };
  const pad = obj.has("pad_token_id") ? obj.get("pad_token_id") : DEFAULTS.pad_token_id;
  if (pad !== null) {
    if (typeof pad !== "number" || !Number.isInteger(pad) || pad < 0 || pad >= config.vocabSize) {
      throw new ConfigError(source, `field "pad_token_id" is ${describe(pad)}`, `an integer from 0 to ${config.vocabSize - 1}`);
    }
    config.padTokenId = pad;
  }
  const sinusoidal = obj.get("sinusoidal_pos_embds");
  if (sinusoidal !== undefined && typeof sinusoidal !== "boolean") {
    throw new ConfigError(source, `field "sinusoidal_pos_embds" is ${describe(sinusoidal)}`, "true or false");
  }
  // HF fills sinusoidal tables into position_embeddings.weight and saves them, so either way the engine reads the table.
  config.sinusoidalPosEmbds = sinusoidal === true;
  return Object.freeze(config);
}

function parseActivation(v: unknown, source: string): "gelu" | "relu" {
  if (v === "gelu" || v === "relu") return v;
  const what = typeof v === "string" ? `activation ${quoted(v)} is not supported` : `field "activation" is ${describe(v)}`;
  throw new ConfigError(source, what, '"gelu" (exact erf GELU) or "relu"');
}

function parseArchitecture(v: unknown, source: string): Architecture {
  if (v === undefined || v === null) return "DistilBertForSequenceClassification";
  if (!Array.isArray(v) || v.length === 0 || typeof v[0] !== "string") {
    throw new ConfigError(source, `field "architectures" is ${describe(v)}`, 'a list like ["DistilBertForMaskedLM"]');
  }
  const name = v[0] as string;
  const known = ARCHITECTURES.find((a) => a === name);
  if (known === undefined) {
    throw new ConfigError(source, `architecture ${quoted(name, 60)} is not supported`, `one of ${ARCHITECTURES.join(", ")}`);
  }
  return known;
}

function parseProblemType(v: unknown, source: string): ProblemType {
  // HF infers an unset problem_type from the labels at training time; at inference an unset one means softmax.
  if (v === undefined || v === null) return "single_label_classification";
  const known = PROBLEM_TYPES.find((p) => p === v);
  if (known === undefined) throw new ConfigError(source, `field "problem_type" is ${describe(v)}`, PROBLEM_TYPES.map((p) => `"${p}"`).join(", "));
  return known;
}

function parseLabels(obj: Map<string, unknown>, source: string): { labels: string[]; label2id: Map<string, number> } {
  const id2label = obj.get("id2label");
  let labels: string[];
  if (id2label !== undefined) {
    if (id2label === null || typeof id2label !== "object" || Array.isArray(id2label)) {
      throw new ConfigError(source, `field "id2label" is ${describe(id2label)}`, 'an object like {"0": "NEGATIVE", "1": "POSITIVE"}');
    }
    const entries = Object.entries(id2label as Record<string, unknown>);
    if (entries.length === 0 || entries.length > LIMITS.labels) {
      throw new ConfigError(source, `field "id2label" has ${entries.length} labels`, `1 to ${LIMITS.labels}`);
    }
    labels = new Array<string>(entries.length);
    for (const [key, name] of entries) {
      const id = Number(key);
      if (!/^(0|[1-9][0-9]*)$/.test(key) || id >= entries.length || labels[id] !== undefined) {
        throw new ConfigError(source, `id2label key ${quoted(key)} is not one of the ids 0..${entries.length - 1}`, "keys 0..n-1, each once");
      }
      if (typeof name !== "string") throw new ConfigError(source, `id2label[${key}] is ${describe(name)}`, "a label name string");
      labels[id] = name;
    }
  } else {
    const n = obj.has("num_labels") ? obj.get("num_labels") : 2;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > LIMITS.labels) {
      throw new ConfigError(source, `field "num_labels" is ${describe(n)}`, `an integer from 1 to ${LIMITS.labels}`);
    }
    labels = Array.from({ length: n }, (_, i) => `LABEL_${i}`);
  }
  const label2id = new Map<string, number>();
  labels.forEach((name, i) => {
    if (!label2id.has(name)) label2id.set(name, i);
  });
  return { labels, label2id };
}

// Values come from the file: described in bounded words, never serialised (they may be huge or deeply nested).
function describe(v: unknown): string {
  return typeof v === "string" ? `the string ${quoted(v, 40)}` : describeValue(v);
}

/** Number of parameters the config implies (for load-time sanity checks and benchmarks' FLOP counts). */
export function parameterCount(c: DistilBertConfig): number {
  const layer = 4 * (c.dim * c.dim + c.dim) + 2 * c.dim * c.hiddenDim + c.hiddenDim + c.dim + 4 * c.dim;
  return (c.vocabSize + c.maxPositionEmbeddings) * c.dim + 2 * c.dim + c.nLayers * layer + c.dim * c.dim + c.dim + c.labels.length * (c.dim + 1);
}
