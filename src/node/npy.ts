/**
 * NumPy .npy files, format version 1.0 (what `numpy.save` writes for float32 and `numpy.load` reads):
 *
 *   \x93NUMPY  01 00  HEADER_LEN (u16 little-endian)  HEADER  data
 *
 * HEADER is the repr of a dict, `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`, then the spare
 * spaces numpy ≥ 1.24 leaves so the shape can grow in place (21 − len(repr(shape[0])) of them, none for 0-D), then
 * spaces up to the 64-byte boundary and a final '\n': magic + version + length + HEADER is a multiple of 64 (numpy's
 * ARRAY_ALIGN), so the data that follows is aligned. The bytes equal numpy 2.x's own output.
 */
import { writeFile } from "node:fs/promises";
import { FileError } from "../errors.js";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ARRAY_ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;

/** Python's repr of a shape tuple: (), (5,), (2, 3). */
export function shapeRepr(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(", ")})`;
}

/** The preamble (magic, version, header length, header) for a C-order little-endian float32 array. */
export function npyHeader(shape: readonly number[], descr = "<f4"): Uint8Array {
  for (const d of shape) if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`npy: invalid dimension ${d}`);
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  if (shape.length > 0) dict += " ".repeat(GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length);
  const hlen = dict.length + 1; // + the final '\n'
  // numpy pads by ARRAY_ALIGN - (x % ARRAY_ALIGN), which is a whole 64 when x is already aligned.
  const padlen = ARRAY_ALIGN - ((MAGIC.length + 2 + 2 + hlen) % ARRAY_ALIGN);
  const total = hlen + padlen;
  if (total > 0xffff) throw new RangeError(`npy: header of ${total} bytes does not fit format 1.0`);
  const out = new Uint8Array(MAGIC.length + 4 + total);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = total & 0xff;
  out[9] = total >> 8;
  let at = 10;
  for (let i = 0; i < dict.length; i++) out[at++] = dict.charCodeAt(i);
  out.fill(0x20, at, at + padlen);
  out[out.length - 1] = 0x0a;
  return out;
}

/** A whole .npy file for float32 data of `shape` (row-major). */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new RangeError(`npy: ${data.length} values for shape [${shape.join(", ")}]`);
  const header = npyHeader(shape);
  const out = new Uint8Array(header.length + data.length * 4);
  out.set(header, 0);
  const view = new DataView(out.buffer, header.length);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return out;
}

/** Reads back what encodeNpy writes (float32, C order, format 1.0); for tests and round trips. */
export function decodeNpy(bytes: Uint8Array): { data: Float32Array; shape: number[] } {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new RangeError("npy: bad magic");
  if (bytes[6] !== 1 || bytes[7] !== 0) throw new RangeError(`npy: version ${bytes[6]}.${bytes[7]}; expected 1.0`);
  const hlen = bytes[8] | (bytes[9] << 8);
  const header = String.fromCharCode(...bytes.subarray(10, 10 + hlen));
  if (!/'descr': '<f4'/.test(header) || !/'fortran_order': False/.test(header)) throw new RangeError(`npy: unsupported header ${header.trim()}`);
  const m = /'shape': \(([^)]*)\)/.exec(header);
  if (!m) throw new RangeError("npy: no shape");
  const shape = m[1].split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  // The length too: a small Buffer from readFileSync is a window on Node's shared pool, which goes on past it.
  const view = new DataView(bytes.buffer, bytes.byteOffset + 10 + hlen, bytes.byteLength - 10 - hlen);
  if (view.byteLength !== n * 4) throw new RangeError(`npy: ${view.byteLength} data bytes for ${n} float32 values`);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = view.getFloat32(i * 4, true);
  return { data, shape };
}

export async function writeNpy(path: string, data: Float32Array, shape: readonly number[]): Promise<void> {
  try {
    await writeFile(path, encodeNpy(data, shape));
  } catch (e) {
    if (e instanceof RangeError) throw e;
    throw new FileError(path, `cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "a writable path");
  }
}
