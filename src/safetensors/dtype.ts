export type Dtype =
  | "BOOL"
  | "U8"
  | "I8"
  | "F8_E5M2"
  | "F8_E4M3"
  | "I16"
  | "U16"
  | "F16"
  | "BF16"
  | "I32"
  | "U32"
  | "F32"
  | "F64"
  | "I64"
  | "U64";

/**
 * The dtypes in the order of the Rust `safetensors::Dtype` enum. The canonical writer sorts by this order
 * (descending), so it must stay exactly as upstream declares it, not alphabetical.
 */
export const DTYPES: readonly Dtype[] = Object.freeze([
  "BOOL",
  "U8",
  "I8",
  "F8_E5M2",
  "F8_E4M3",
  "I16",
  "U16",
  "F16",
  "BF16",
  "I32",
  "U32",
  "F32",
  "F64",
  "I64",
  "U64",
] as Dtype[]);

export const DTYPE_SIZE: Readonly<Record<Dtype, number>> = Object.freeze({
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
});

// A Set rather than `in DTYPE_SIZE`, which would accept inherited names such as "toString".
const DTYPE_SET: ReadonlySet<string> = new Set(DTYPES);

export function isDtype(x: unknown): x is Dtype {
  return typeof x === "string" && DTYPE_SET.has(x);
}

/** Rank in the Rust enum; the writer places higher ranks (wider alignment) first. */
export function dtypeRank(d: Dtype): number {
  return DTYPES.indexOf(d);
}

/** Typed-array views are native-endian, the file is little-endian: byte order matters only off little-endian hosts. */
export const LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Number of elements of a shape of non-negative safe integers, or null when the running product, taken left to
 * right as the Rust reader does with checked multiplication, leaves the safe-integer range (so [2^30, 2^30, 2^30, 0]
 * is refused although its product is 0, while [0, 2^30, 2^30, 2^30] is 0). The limit is 2^53 instead of Rust's 2^64,
 * so every shape accepted here is accepted there too.
 */
export function elementCount(shape: readonly number[]): number | null {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return null;
  }
  return n;
}

/**
 * Orders strings by Unicode code point, which is the byte order of their UTF-8 encodings (Rust's `String` order).
 * Plain `<` compares UTF-16 code units and puts astral characters (surrogates, 0xD800–0xDFFF) before 0xE000–0xFFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return fixup(x) - fixup(y);
  }
  return a.length - b.length;
}

function fixup(c: number): number {
  return c >= 0xd800 ? (c >= 0xe000 ? c - 0x800 : c + 0x2000) : c;
}

/** The Rust writer's order: descending dtype rank (wider alignment first), then name in UTF-8 byte order. */
export function canonicalOrder(a: { dtype: Dtype; name: string }, b: { dtype: Dtype; name: string }): number {
  return dtypeRank(b.dtype) - dtypeRank(a.dtype) || compareCodePoints(a.name, b.name);
}
