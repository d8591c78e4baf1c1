import { SafetensorsError, WeightsError } from "../errors.js";
import type { WeightSource } from "../layers/weights.js";
import type { SafetensorsFile } from "../safetensors/index.js";
import { formatShape } from "../safetensors/reader.js";
import { dequantizeRows, Q8_MAX, quantizeRows, type Q8Rows } from "../tensor/quant.js";

/**
 * How the model's matrices run: "f32" (the default for a float checkpoint; an I8 checkpoint is dequantized), "q8"
 * (int8: an I8 checkpoint as stored, a float one quantized at load), or "auto": q8 exactly when the file holds I8.
 */
export type ModelDtype = "auto" | "f32" | "q8";

/** The `__metadata__` key and value a q8 checkpoint carries (written by `distilbert-ts quantize`). */
export const Q8_METADATA_KEY = "quantization";
export const Q8_METADATA_VALUE = "q8";
/** The name of the scales tensor of an I8 matrix: one F32 per row. */
export const scaleName = (name: string): string => `${name}_scale`;

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
    private readonly options: { checkFinite?: boolean; configSource?: string; dtype?: ModelDtype } = {},
  ) {
    const scheme = file.metadata.get(Q8_METADATA_KEY);
    if (scheme !== undefined && scheme !== Q8_METADATA_VALUE) {
      throw new WeightsError(`${file.source}: __metadata__`, `quantization is ${JSON.stringify(scheme.slice(0, 80))}`, `"${Q8_METADATA_VALUE}" (or no quantization key)`);
    }
  }

  /** Whether the model's matrices run in q8: dtype "q8", or "auto" on a file with I8 tensors (see ModelDtype). */
  runsQ8(): boolean {
    const mode = this.options.dtype ?? "auto";
    return mode === "q8" || (mode === "auto" && [...this.file.tensors.values()].some((t) => t.dtype === "I8"));
  }

  /**
   * q8 rows of the matrix `name` when the model runs in q8 (see ModelDtype), else null. An I8 tensor comes with its
   * scales `name_scale` (F32 [rows], finite and > 0) and values in [-127, 127]; anything else is a WeightsError.
   */
  getQ8(name: string, shape: readonly [number, number]): Q8Rows | null {
    const mode = this.options.dtype ?? "auto";
    const actual = this.resolve(name);
    const info = actual === null ? undefined : this.file.tensors.get(actual);
    if (info?.dtype === "I8") return mode === "f32" ? null : this.readQ8(actual!, shape);
    if (mode !== "q8") return null;
    return quantizeRows(this.get(name, shape), shape[0], shape[1], `${this.file.source}: tensor "${actual ?? name}"`);
  }

  /** The file's name for `name` (with or without the `distilbert.` prefix), or null when neither is there. */
  private resolve(name: string): string | null {
    if (this.file.tensors.has(name)) return name;
    if (name.startsWith("distilbert.") && this.file.tensors.has(name.slice("distilbert.".length))) return name.slice("distilbert.".length);
    return null;
  }

  private readQ8(actual: string, shape: readonly [number, number]): Q8Rows {
    const where = `${this.file.source}: tensor "${actual}"`;
    const info = this.file.tensors.get(actual)!;
    this.checkShape(actual, info.shape, shape);
    const sName = scaleName(actual);
    const sInfo = this.file.tensors.get(sName);
    if (sInfo === undefined) throw new WeightsError(where, `is I8 but its scales "${sName}" are missing`, `an F32 tensor "${sName}" of shape [${shape[0]}]`);
    if (sInfo.dtype !== "F32") throw new WeightsError(`${this.file.source}: tensor "${sName}"`, `dtype is ${sInfo.dtype}`, "F32 scales");
    if (sInfo.shape.length !== 1 || sInfo.shape[0] !== shape[0]) {
      throw new WeightsError(`${this.file.source}: tensor "${sName}"`, `shape is ${formatShape(sInfo.shape)}`, `[${shape[0]}], one scale per row of "${actual}"`);
    }
    let q: Int8Array;
    let scales: Float32Array;
    try {
      q = this.file.getInt8(actual);
      // A copy: scales are small, and a view could be unaligned.
      scales = this.file.getFloat32(sName).slice();
    } catch (e) {
      if (e instanceof SafetensorsError) throw new WeightsError(where, e.message);
      throw e;
    }
    for (let i = 0; i < scales.length; i++) {
      if (!(scales[i] > 0 && scales[i] <= 3.4028234663852886e38)) {
        throw new WeightsError(`${this.file.source}: tensor "${sName}"`, `row ${i} has scale ${scales[i]}`, "finite scales above 0");
      }
    }
    for (let i = firstMinus128(q); i < q.length; i++) {
      if (q[i] < -Q8_MAX) {
        throw new WeightsError(where, `holds ${q[i]} at row ${Math.floor(i / shape[1])}, column ${i % shape[1]}`, `values in [-${Q8_MAX}, ${Q8_MAX}] (the q8 scheme is symmetric)`);
      }
    }
    this.used.add(actual);
    this.used.add(sName);
    this.dtypes.I8 = (this.dtypes.I8 ?? 0) + 1;
    this.dtypes.F32 = (this.dtypes.F32 ?? 0) + 1;
    if (actual.startsWith("distilbert.")) this.prefixed = true;
    return { rows: shape[0], cols: shape[1], q, scales };
  }

  private checkShape(actual: string, have: readonly number[], shape: readonly number[]): void {
    if (have.length !== shape.length || have.some((d, i) => d !== shape[i])) {
      // formatShape: the file's shape may have millions of dimensions; the expected one is the config's.
      const from = this.options.configSource === undefined ? "" : ` (${this.options.configSource})`;
      throw new WeightsError(`${this.file.source}: tensor "${actual}"`, `shape is ${formatShape(have)}`, `[${shape.join(", ")}] from the config${from}`);
    }
  }

  get(name: string, shape: readonly number[]): Float32Array {
    let actual = name;
    if (!this.file.tensors.has(actual) && name.startsWith("distilbert.")) actual = name.slice("distilbert.".length);
    else if (this.file.tensors.has(actual) && name.startsWith("distilbert.")) this.prefixed = true;
    const info = this.file.tensors.get(actual);
    if (info === undefined) {
      const also = actual !== name ? ` (nor "${actual}")` : "";
      throw new WeightsError(this.file.source, `tensor "${name}"${also} is missing`, `a tensor of shape [${shape.join(", ")}]`);
    }
    if (info.dtype === "I8" && shape.length === 2) return dequantizeRows(this.readQ8(actual, [shape[0], shape[1]]));
    if (!FLOAT_DTYPES.has(info.dtype)) {
      throw new WeightsError(`${this.file.source}: tensor "${actual}"`, `dtype ${info.dtype} cannot be used as a weight`, "F32, F16 or BF16");
    }
    this.checkShape(actual, info.shape, shape);
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

/**
 * Where the byte scan for -128 (0x80) must start: 0, unless the words before some point are known to hold none. Reads
 * 4 bytes at a time (a word holds a 0x80 byte iff w ^ 0x80808080 holds a zero byte: the classic has-zero-byte test),
 * a quarter of the loads of the byte loop on the 66 M values of the full model.
 */
function firstMinus128(q: Int8Array): number {
  if (q.byteOffset % 4 !== 0) return 0;
  const words = new Int32Array(q.buffer, q.byteOffset, q.length >> 2);
  for (let i = 0; i < words.length; i++) {
    const x = words[i] ^ 0x80808080;
    if (((x - 0x01010101) & ~x & 0x80808080) !== 0) return 4 * i;
  }
  return 4 * words.length;
}
