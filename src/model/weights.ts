import { SafetensorsError, WeightsError } from "../errors.js";
import type { WeightSource } from "../layers/weights.js";
import type { SafetensorsFile } from "../safetensors/index.js";
import { formatShape } from "../safetensors/reader.js";

/** What loading did with each tensor of the file. */
export interface LoadReport {
  /** File tensors the model bound, by their names in the file. */
  readonly used: string[];
  /** File tensors the model does not use (an MLM head, position_ids, ...), by name. */
  readonly ignored: string[];
  /** Whether the base model's tensors carried the `distilbert.` prefix in the file. */
  readonly prefixed: boolean;
  /** Count of tensors per dtype among the used ones (F16/BF16 are converted to f32 at load). */
  readonly dtypes: Record<string, number>;
  /** Used tensors holding NaN or ±Inf (filled only when the weights were checked). */
  readonly nonFinite: { name: string; count: number; firstIndex: number }[];
}

const FLOAT_DTYPES = new Set(["F32", "F16", "BF16", "F64"]);

/**
 * Binds Hugging Face tensor names to a safetensors file. The model asks for `distilbert.embeddings....`; a file
 * saved from a bare DistilBertModel has `embeddings....`, so the prefix is optional.
 */
export class SafetensorsWeights implements WeightSource {
  private readonly used = new Set<string>();
  private readonly dtypes: Record<string, number> = {};
  private readonly nonFinite: LoadReport["nonFinite"] = [];
  private prefixed = false;

  constructor(
    readonly file: SafetensorsFile,
    /** configSource: the config file's name, for messages about shapes it implies. */
    private readonly options: { checkFinite?: boolean; configSource?: string } = {},
  ) {}

  get(name: string, shape: readonly number[]): Float32Array {
    let actual = name;
    if (!this.file.tensors.has(actual) && name.startsWith("distilbert.")) actual = name.slice("distilbert.".length);
    else if (this.file.tensors.has(actual) && name.startsWith("distilbert.")) this.prefixed = true;
    const info = this.file.tensors.get(actual);
    if (info === undefined) {
      const also = actual !== name ? ` (nor "${actual}")` : "";
      throw new WeightsError(this.file.source, `tensor "${name}"${also} is missing`, `a tensor of shape [${shape.join(", ")}]`);
    }
    if (!FLOAT_DTYPES.has(info.dtype)) {
      throw new WeightsError(`${this.file.source}: tensor "${actual}"`, `dtype ${info.dtype} cannot be used as a weight`, "F32, F16 or BF16");
    }
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      // formatShape: the file's shape may have millions of dimensions; the expected one is the config's.
      const from = this.options.configSource === undefined ? "" : ` (${this.options.configSource})`;
      throw new WeightsError(`${this.file.source}: tensor "${actual}"`, `shape is ${formatShape(info.shape)}`, `[${shape.join(", ")}] from the config${from}`);
    }
    this.used.add(actual);
    this.dtypes[info.dtype] = (this.dtypes[info.dtype] ?? 0) + 1;
    if (this.options.checkFinite) {
      const bad = this.file.findNonFinite(actual);
      if (bad.count > 0) this.nonFinite.push({ name: actual, ...bad });
    }
    try {
      return this.file.getFloat32(actual);
    } catch (e) {
      if (e instanceof SafetensorsError) throw new WeightsError(`${this.file.source}: tensor "${actual}"`, e.message);
      throw e;
    }
  }

  report(): LoadReport {
    return {
      used: [...this.used],
      ignored: this.file.names().filter((n) => !this.used.has(n)),
      prefixed: this.prefixed,
      dtypes: { ...this.dtypes },
      nonFinite: [...this.nonFinite],
    };
  }
}
