import { SafetensorsError } from "../errors.js";
import { canonicalOrder, DTYPE_SIZE, DTYPES, type Dtype, elementCount, isDtype, LITTLE_ENDIAN } from "./dtype.js";
import { formatShape, MAX_HEADER_SIZE, quoteName } from "./reader.js";

export interface WriteTensor {
  name: string;
  dtype: Dtype;
  shape: number[];
  /**
   * Element values in a typed array whose element size equals the dtype's (F16/BF16 as raw bits in a Uint16Array,
   * U32 in an Int32Array, ...), or the raw little-endian bytes in a Uint8Array for any dtype.
   */
  data:
    | Float32Array
    | Float64Array
    | Uint8Array
    | Int8Array
    | Uint16Array
    | Int16Array
    | Int32Array
    | Uint32Array
    | BigInt64Array
    | BigUint64Array;
}

const WHERE = "writeSafetensors";
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

interface Prepared {
  t: WriteTensor;
  bytes: Uint8Array;
  /** > 1 when `bytes` holds native-endian elements, which must be byte-swapped on big-endian hosts. */
  elementSize: number;
}

function prepare(t: WriteTensor, seen: Set<string>): Prepared {
  if (typeof t.name !== "string") throw new SafetensorsError(WHERE, `tensor name is ${typeof t.name}`, "a string");
  const where = `${WHERE}: tensor ${quoteName(t.name)}`;
  if (t.name === "__metadata__") throw new SafetensorsError(where, "name is reserved for the metadata block");
  if (LONE_SURROGATE.test(t.name)) throw new SafetensorsError(where, "name contains a lone UTF-16 surrogate");
  if (seen.has(t.name)) throw new SafetensorsError(where, "name given more than once");
  seen.add(t.name);
  if (!isDtype(t.dtype)) {
    throw new SafetensorsError(where, `unknown dtype ${quoteName(String(t.dtype))}`, `one of ${DTYPES.join(" ")}`);
  }
  if (!Array.isArray(t.shape)) throw new SafetensorsError(where, "shape is not an array");
  for (const d of t.shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new SafetensorsError(where, `shape ${formatShape(t.shape)} has ${d}`, "non-negative integers");
    }
  }
  const elements = elementCount(t.shape);
  const nbytes = elements === null ? NaN : elements * DTYPE_SIZE[t.dtype];
  if (!Number.isSafeInteger(nbytes)) throw new SafetensorsError(where, `shape ${formatShape(t.shape)} is too large`);

  const data: unknown = t.data;
  if (!ArrayBuffer.isView(data) || data instanceof DataView) {
    throw new SafetensorsError(where, "data is not a typed array");
  }
  const view = data as WriteTensor["data"];
  const elementSize = view.BYTES_PER_ELEMENT;
  const floatMismatch =
    (view instanceof Float32Array && t.dtype !== "F32") || (view instanceof Float64Array && t.dtype !== "F64");
  if ((elementSize !== 1 && elementSize !== DTYPE_SIZE[t.dtype]) || floatMismatch) {
    throw new SafetensorsError(
      where,
      `${view.constructor.name} data cannot hold ${t.dtype} elements`,
      "a typed array of the dtype's element size, or raw bytes in a Uint8Array",
    );
  }
  if (view.byteLength !== nbytes) {
    throw new SafetensorsError(
      where,
      `data has ${view.byteLength} bytes but ${t.dtype} ${formatShape(t.shape)} needs ${nbytes}`,
    );
  }
  return { t, bytes: new Uint8Array(view.buffer, view.byteOffset, view.byteLength), elementSize };
}

function copyInto(out: Uint8Array, pos: number, p: Prepared): void {
  if (LITTLE_ENDIAN || p.elementSize === 1) {
    out.set(p.bytes, pos);
    return;
  }
  const w = p.elementSize;
  const src = p.bytes;
  for (let i = 0; i < src.length; i += w) {
    for (let k = 0; k < w; k++) out[pos + i + k] = src[i + w - 1 - k];
  }
}

/**
 * Serialises tensors in the canonical layout of the Rust `safetensors::serialize`: tensors sorted by descending
 * dtype rank (which keeps every tensor aligned to its element size) then by name in UTF-8 byte order; compact JSON
 * header with `__metadata__` first when given (even if empty) and the entries in data order; header padded with
 * spaces to a multiple of 8. Metadata keys keep their insertion order (Rust's HashMap order is unspecified).
 */
export function writeSafetensors(
  tensors: WriteTensor[],
  metadata?: Record<string, string> | Map<string, string>,
): Uint8Array {
  const seen = new Set<string>();
  const prepared = tensors.map((t) => prepare(t, seen));
  prepared.sort((a, b) => canonicalOrder(a.t, b.t));

  const parts: string[] = [];
  if (metadata !== undefined) {
    const entries = metadata instanceof Map ? [...metadata.entries()] : Object.entries(metadata);
    const fields: string[] = [];
    for (const [k, v] of entries) {
      if (typeof k !== "string" || typeof v !== "string") {
        throw new SafetensorsError(`${WHERE}: __metadata__`, `entry ${quoteName(String(k))} is not a string pair`);
      }
      if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(v)) {
        throw new SafetensorsError(`${WHERE}: __metadata__`, `entry ${quoteName(k)} contains a lone UTF-16 surrogate`);
      }
      fields.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    parts.push(`"__metadata__":{${fields.join(",")}}`);
  }
  // JSON.stringify escapes exactly what serde_json escapes (", \, control characters as \b \f \n \r \t or \u00xx
  // in lowercase hex) and leaves other characters raw, so names serialise byte-identically.
  let offset = 0;
  for (const p of prepared) {
    const { name, dtype, shape } = p.t;
    const end = offset + p.bytes.length;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${shape.join(",")}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const headerLength = json.length + ((8 - (json.length % 8)) % 8);
  if (headerLength > MAX_HEADER_SIZE) {
    throw new SafetensorsError(WHERE, `header would be ${headerLength} bytes`, `at most ${MAX_HEADER_SIZE}`);
  }
  const dataOffset = 8 + headerLength;
  const total = dataOffset + offset;
  if (!Number.isSafeInteger(total)) throw new SafetensorsError(WHERE, `file would be ${total} bytes`);

  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, headerLength, true); // high word stays 0: headerLength ≤ MAX_HEADER_SIZE
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, dataOffset);
  let pos = dataOffset;
  for (const p of prepared) {
    copyInto(out, pos, p);
    pos += p.bytes.length;
  }
  return out;
}
