import { DistilBertError, FileError, SafetensorsError } from "../errors.js";
import { printable } from "../printable.js";
import { type ByteReader, memoryReader } from "./byte-reader.js";
import { canonicalOrder, DTYPE_SIZE, DTYPES, type Dtype, elementCount, isDtype, LITTLE_ENDIAN } from "./dtype.js";
import { f16LookupTable } from "./float.js";
import { type NonIntegerNumber, scanJson } from "./json-scan.js";
import { decodeUtf8Strict } from "./utf8.js";

/** Same limit as the Rust reader: anything larger is treated as hostile rather than parsed. */
export const MAX_HEADER_SIZE = 100_000_000;

export const DEFAULT_SOURCE = "model.safetensors";

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Byte range [begin, end) relative to the start of the data buffer (absolute offset = dataOffset + begin). */
  begin: number;
  end: number;
}

/** What the header alone tells: enough to plan reading the rest of a file (e.g. from a stream). */
export interface SafetensorsHeader {
  source: string;
  headerLength: number;
  /** Absolute offset of the data buffer: 8 + headerLength. */
  dataOffset: number;
  /** Bytes of tensor data the header describes (the end of the last tensor). */
  dataLength: number;
  /** The size a well-formed file with this header has: dataOffset + dataLength. */
  fileLength: number;
  metadata: Map<string, string>;
  /** In data-offset order. */
  tensors: Map<string, TensorInfo>;
}

const ENTRY_FIELDS: ReadonlySet<string> = new Set(["dtype", "shape", "data_offsets"]);
const FLOAT_TYPES = "F32, F16, BF16 or F64";
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Tensor names come from the file: quote and escape them, and keep hostile lengths out of error messages. */
export function quoteName(name: string): string {
  const q = JSON.stringify(name.length > 120 ? name.slice(0, 120) : name);
  return name.length > 120 ? `${q.slice(0, -1)}…" (${name.length} characters)` : q;
}

export function tensorWhere(source: string, name: string): string {
  return `${source}: tensor ${quoteName(name)}`;
}

/** A short description of a JSON value for messages; never serialises containers (they may be huge or deep). */
function describe(v: unknown): string {
  if (v === undefined) return "missing";
  if (v === null) return "null";
  if (typeof v === "string") return `the string ${quoteName(v)}`;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `an array of ${v.length} elements`;
  return "an object";
}

/** Shapes come from the file too: a hostile one may have millions of dimensions. */
export function formatShape(shape: readonly number[]): string {
  return shape.length <= 16 ? `[${shape.join(", ")}]` : `[${shape.slice(0, 16).join(", ")}, … (${shape.length} dims)]`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isIndex(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function toBytes(input: Uint8Array | ArrayBuffer, source: string): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (ArrayBuffer.isView(input)) {
    const v = input as ArrayBufferView;
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }
  const tag = Object.prototype.toString.call(input);
  if (tag === "[object ArrayBuffer]" || tag === "[object SharedArrayBuffer]") return new Uint8Array(input);
  throw new SafetensorsError(source, `cannot read ${describe(input)}`, "a Uint8Array or ArrayBuffer");
}

/**
 * Reads the u64 little-endian header length from the first 8 bytes of a file and checks it against the limit
 * (MAX_HEADER_SIZE, or a lower one the caller sets).
 */
export function readHeaderLength(first8: Uint8Array, source: string = DEFAULT_SOURCE, limit: number = MAX_HEADER_SIZE): number {
  if (first8.length < 8) {
    throw new SafetensorsError(
      source,
      `file is ${first8.length} bytes long, too short for the 8-byte header length`,
      "at least 8 bytes",
    );
  }
  const dv = new DataView(first8.buffer, first8.byteOffset, 8);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const max = Math.min(limit, MAX_HEADER_SIZE);
  if (hi !== 0 || lo > max) {
    const n = (BigInt(hi) << 32n) | BigInt(lo);
    throw new SafetensorsError(source, `header length ${n} exceeds the ${max}-byte limit`, `at most ${max}`);
  }
  return lo;
}

interface DecodedHeader {
  parsed: Record<string, unknown>;
  // Number-form problems are reported after the structural checks, whose messages say more for the same file (a
  // negative offset is better described as negative than as "not written as a plain integer").
  nonInteger: NonIntegerNumber | null;
}

function decodeHeader(bytes: Uint8Array, source: string): DecodedHeader {
  let text: string;
  try {
    // ignoreBOM keeps a leading BOM in the text so that JSON.parse rejects it, as the Rust reader does.
    // Browsers' TextDecoder refuses views on a SharedArrayBuffer; the header is small, so copy it in that case.
    const shared = typeof SharedArrayBuffer !== "undefined" && bytes.buffer instanceof SharedArrayBuffer;
    // TextDecoder is a host API: a bare JS engine (vm context, sandbox) lacks it, and then the same strict decoding
    // runs in plain JS.
    text =
      typeof TextDecoder === "function"
        ? new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(shared ? bytes.slice() : bytes)
        : decodeUtf8Strict(bytes);
  } catch {
    throw new SafetensorsError(source, "header is not valid UTF-8");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    // The engine's message quotes the text around the error: raw newlines and control bytes from the file.
    const why = printable(e instanceof Error ? e.message : String(e));
    throw new SafetensorsError(source, `header is not valid JSON (${why})`);
  }
  if (!isPlainObject(parsed)) {
    throw new SafetensorsError(source, `header is ${describe(parsed)}`, "a JSON object");
  }
  const scan = scanJson(text);
  if (scan.duplicate !== null) {
    const { path, key } = scan.duplicate;
    if (path.length === 0) {
      throw new SafetensorsError(source, `header has the key ${quoteName(key)} more than once`);
    }
    const where = path[0] === "__metadata__" ? `${source}: __metadata__` : tensorWhere(source, path[0]);
    const inner = path.length > 1 ? ` inside ${path.slice(1).map(quoteName).join(".")}` : "";
    throw new SafetensorsError(where, `the key ${quoteName(key)} appears more than once${inner}`);
  }
  return { parsed, nonInteger: scan.nonInteger };
}

function parseMetadata(value: unknown, source: string): Map<string, string> {
  const where = `${source}: __metadata__`;
  if (!isPlainObject(value)) throw new SafetensorsError(where, `is ${describe(value)}`, "an object of strings");
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") {
      throw new SafetensorsError(where, `value of ${quoteName(k)} is ${describe(v)}`, "a string");
    }
    if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(v)) {
      throw new SafetensorsError(where, `entry ${quoteName(k)} contains a lone UTF-16 surrogate escape`);
    }
    out.set(k, v);
  }
  return out;
}

function parseEntry(name: string, value: unknown, source: string): TensorInfo {
  const where = tensorWhere(source, name);
  if (LONE_SURROGATE.test(name)) {
    throw new SafetensorsError(where, "name contains a lone UTF-16 surrogate escape", "valid Unicode");
  }
  const expectedEntry = "an object with exactly dtype, shape and data_offsets";
  if (!isPlainObject(value)) throw new SafetensorsError(where, `entry is ${describe(value)}`, expectedEntry);
  for (const k of Object.keys(value)) {
    if (!ENTRY_FIELDS.has(k)) throw new SafetensorsError(where, `unknown field ${quoteName(k)}`, expectedEntry);
  }
  for (const k of ENTRY_FIELDS) {
    if (!Object.prototype.hasOwnProperty.call(value, k)) {
      throw new SafetensorsError(where, `missing field "${k}"`, expectedEntry);
    }
  }

  const dtype = value.dtype;
  if (!isDtype(dtype)) {
    throw new SafetensorsError(where, `dtype is ${describe(dtype)}, not a known dtype`, `one of ${DTYPES.join(" ")}`);
  }

  const shapeValue = value.shape;
  if (!Array.isArray(shapeValue)) {
    throw new SafetensorsError(where, `shape is ${describe(shapeValue)}`, "an array of non-negative integers");
  }
  const shape: number[] = [];
  for (let i = 0; i < shapeValue.length; i++) {
    const d: unknown = shapeValue[i];
    if (!isIndex(d)) {
      throw new SafetensorsError(where, `shape[${i}] is ${describe(d)}`, "a non-negative integer below 2^53");
    }
    shape.push(d);
  }
  const elements = elementCount(shape);
  if (elements === null) {
    throw new SafetensorsError(
      where,
      `shape ${formatShape(shape)} has more than 2^53 elements`,
      "a shape whose element count is a safe integer",
    );
  }

  const offsets = value.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    throw new SafetensorsError(where, `data_offsets is ${describe(offsets)}`, "[begin, end]");
  }
  const [begin, end] = offsets as unknown[];
  if (!isIndex(begin)) {
    throw new SafetensorsError(where, `data_offsets begin is ${describe(begin)}`, "a non-negative integer below 2^53");
  }
  if (!isIndex(end)) {
    throw new SafetensorsError(where, `data_offsets end is ${describe(end)}`, "a non-negative integer below 2^53");
  }
  if (begin > end) {
    throw new SafetensorsError(where, `data_offsets [${begin}, ${end}] end before they begin`, "begin <= end");
  }
  // elements * size may be inexact above 2^53, but then it cannot equal end - begin, which is exact.
  const nbytes = elements * DTYPE_SIZE[dtype];
  if (end - begin !== nbytes) {
    throw new SafetensorsError(
      where,
      `data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${dtype} ${formatShape(shape)} needs ${nbytes}`,
      `end - begin == ${nbytes}`,
    );
  }
  Object.freeze(shape);
  return Object.freeze({ name, dtype, shape, begin, end });
}

function numberProblemError(source: string, problem: NonIntegerNumber): SafetensorsError {
  const [first, field] = problem.path;
  const lit = problem.literal.length > 40 ? `${problem.literal.slice(0, 40)}…` : problem.literal;
  const what = `the number ${lit} is not written as a non-negative integer`;
  if (first === undefined) return new SafetensorsError(source, what);
  const where = first === "__metadata__" ? `${source}: __metadata__` : tensorWhere(source, first);
  return new SafetensorsError(where, field === undefined ? what : `${field}: ${what}`, "digits only, as usize");
}

/** Options of parseHeader and SafetensorsFile.parse. */
export interface ParseOptions {
  /** Name used in error messages (default "model.safetensors"). */
  source?: string;
  /**
   * Refuse headers longer than this (default and ceiling: MAX_HEADER_SIZE, the Rust reader's limit). Parsed JSON
   * takes around 15 times its text in memory when it is made of many small entries, so a caller that knows how
   * many tensors to expect can refuse a hostile header before parsing it.
   */
  maxHeaderLength?: number;
}

/**
 * A ByteReader whose every read is checked: a reader that throws, or returns anything but the bytes asked for,
 * becomes a typed error naming the file (never a raw stack from the I/O layer).
 */
class CheckedReader {
  constructor(
    private readonly reader: ByteReader,
    readonly source: string,
    /** The reader's byteLength, read once: all checks against the file size use this number. */
    readonly byteLength: number,
  ) {}

  read(position: number, length: number): Uint8Array {
    let out: unknown;
    try {
      out = this.reader.read(position, length);
    } catch (e) {
      // A reader that already speaks our errors (the Node file reader's FileError) knows best what went wrong.
      if (e instanceof DistilBertError) throw e;
      const why = printable(e instanceof Error ? e.message : String(e));
      throw new FileError(this.source, `cannot be read at bytes [${position}, ${position + length}) (${why})`);
    }
    if (Object.prototype.toString.call(out) !== "[object Uint8Array]" || (out as Uint8Array).length !== length) {
      const got = Object.prototype.toString.call(out) === "[object Uint8Array]" ? `${(out as Uint8Array).length} bytes` : describe(out);
      throw new FileError(
        this.source,
        `a read of ${length} bytes at byte ${position} returned ${got}`,
        `exactly ${length} bytes (the file must not change while it is read)`,
      );
    }
    return out as Uint8Array;
  }
}

/** Opens a reader for checked reads; its byteLength must be a size. */
function checkedReader(reader: ByteReader, source: string): CheckedReader {
  if (reader === null || typeof reader !== "object" || typeof reader.read !== "function") {
    throw new SafetensorsError(source, `cannot read ${describe(reader)}`, "a ByteReader ({ byteLength, read(position, length) })");
  }
  const size: unknown = reader.byteLength;
  if (!isIndex(size)) throw new SafetensorsError(source, `the reader's byteLength is ${describe(size)}`, "a non-negative integer below 2^53");
  return new CheckedReader(reader, source, size);
}

/**
 * The one header parser behind parseHeader, SafetensorsFile.parse and SafetensorsFile.open: every check is made on
 * bytes read through `src`, and nothing past the 8-byte length is read before that length is bounded by the limit
 * and by the file size.
 */
function readHeader(src: CheckedReader, maxHeaderLength: number | undefined): SafetensorsHeader {
  const { source, byteLength: size } = src;
  const headerLength = readHeaderLength(src.read(0, Math.min(8, size)), source, maxHeaderLength);
  const dataOffset = 8 + headerLength;
  if (dataOffset > size) {
    throw new SafetensorsError(
      source,
      `header length ${headerLength} runs past the end of the file (${size} bytes)`,
      `at most ${size - 8}`,
    );
  }
  const { parsed, nonInteger } = decodeHeader(src.read(8, headerLength), source);

  let metadata = new Map<string, string>();
  const infos: TensorInfo[] = [];
  for (const [name, value] of Object.entries(parsed)) {
    if (name === "__metadata__") metadata = parseMetadata(value, source);
    else infos.push(parseEntry(name, value, source));
  }
  if (nonInteger !== null) throw numberProblemError(source, nonInteger);

  // Like the Rust reader: order by offsets (never trust the JSON key order), then demand an exact tiling. Zero-size
  // tensors can share an offset; the writer's order breaks those ties, so names() never depends on key order.
  infos.sort((a, b) => a.begin - b.begin || a.end - b.end || canonicalOrder(a, b));
  let pos = 0;
  let previous: TensorInfo | null = null;
  for (const info of infos) {
    if (info.begin > pos) {
      throw new SafetensorsError(
        tensorWhere(source, info.name),
        `data_offsets [${info.begin}, ${info.end}] leave bytes [${pos}, ${info.begin}) of the data buffer unused`,
        `begin == ${pos} (tensors must tile the data buffer without holes)`,
      );
    }
    if (info.begin < pos) {
      const other = previous === null ? "" : ` of tensor ${quoteName(previous.name)}`;
      throw new SafetensorsError(
        tensorWhere(source, info.name),
        `data_offsets [${info.begin}, ${info.end}] overlap bytes up to ${pos}${other}`,
        `begin == ${pos} (tensors must not overlap)`,
      );
    }
    pos = info.end;
    previous = info;
  }

  const tensors = new Map<string, TensorInfo>();
  for (const info of infos) tensors.set(info.name, info);
  return { source, headerLength, dataOffset, dataLength: pos, fileLength: dataOffset + pos, metadata, tensors };
}

/**
 * Parses and validates the header from the start of a file. `prefix` needs only the first 8 + headerLength bytes;
 * the data buffer is checked against the header (contiguous tiling from 0, sizes) but not against a file size.
 */
export function parseHeader(prefix: Uint8Array | ArrayBuffer, options: ParseOptions = {}): SafetensorsHeader {
  const source = options.source ?? DEFAULT_SOURCE;
  const bytes = toBytes(prefix, source);
  return readHeader(new CheckedReader(memoryReader(bytes), source, bytes.length), options.maxHeaderLength);
}

/** Bytes per read when findNonFinite scans a tensor through a reader: bounded memory, whatever the tensor's size. */
const SCAN_CHUNK = 1 << 22;

export class SafetensorsFile {
  readonly source: string;
  readonly metadata: Map<string, string>;
  /** In data-offset order. */
  readonly tensors: Map<string, TensorInfo>;
  readonly headerLength: number;
  /** Absolute offset of the data buffer: 8 + headerLength. */
  readonly dataOffset: number;
  /** Where tensor bytes come from: the caller's buffer (parse; reads are views of it) or the caller's ByteReader. */
  private readonly src: CheckedReader;
  // A private copy of the index, so that callers editing `tensors` cannot point reads at other bytes.
  private readonly index: Map<string, TensorInfo>;

  private constructor(src: CheckedReader, header: SafetensorsHeader) {
    this.src = src;
    this.source = header.source;
    this.metadata = header.metadata;
    this.tensors = header.tensors;
    this.index = new Map(header.tensors);
    this.headerLength = header.headerLength;
    this.dataOffset = header.dataOffset;
  }

  /**
   * Validates the whole file; the bytes are not copied, so they must not change while this object is used.
   * The same as `open(memoryReader(bytes))`: tensors are views of `bytes` (aligned F32 included).
   */
  static parse(bytes: Uint8Array | ArrayBuffer, options: ParseOptions = {}): SafetensorsFile {
    const source = options.source ?? DEFAULT_SOURCE;
    return SafetensorsFile.open(memoryReader(toBytes(bytes, source)), options);
  }

  /**
   * Validates a file read through `reader` (exactly as parse does: header length, header, tiling, and the size
   * against `reader.byteLength`), reading only the 8-byte length and the header. Tensor bytes are read when asked
   * for (bytes, getFloat32, findNonFinite), so the reader must stay usable while tensors are read. A reader that
   * throws, or returns other than the bytes asked for, gives a FileError naming `options.source`.
   */
  static open(reader: ByteReader, options: ParseOptions = {}): SafetensorsFile {
    const source = options.source ?? DEFAULT_SOURCE;
    const src = checkedReader(reader, source);
    const header = readHeader(src, options.maxHeaderLength);
    const available = src.byteLength - header.dataOffset;
    if (header.dataLength > available) {
      throw new SafetensorsError(
        source,
        `file is truncated: the header describes ${header.dataLength} bytes of tensor data but only ${available} follow it`,
        `a file of ${header.fileLength} bytes`,
      );
    }
    if (header.dataLength < available) {
      throw new SafetensorsError(
        source,
        `${available - header.dataLength} trailing bytes after the last tensor's data`,
        `a file of ${header.fileLength} bytes`,
      );
    }
    return new SafetensorsFile(src, header);
  }

  /** Tensor names in data-offset order. */
  names(): string[] {
    return [...this.index.keys()];
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  info(name: string): TensorInfo {
    const info = this.index.get(name);
    if (info === undefined) throw new SafetensorsError(tensorWhere(this.source, name), "no such tensor in the file");
    return info;
  }

  /** The tensor's raw little-endian bytes: a view of the caller's buffer (parse), or what the reader returned (open). */
  bytes(name: string): Uint8Array {
    const info = this.info(name);
    return this.src.read(this.dataOffset + info.begin, info.end - info.begin);
  }

  /**
   * The tensor as float32. F32 is a zero-copy view of the bytes read when they are 4-aligned on a little-endian host
   * (parse: a view of the caller's buffer, so writing to it writes there; open: of the array the reader returned,
   * e.g. a fresh one per tensor); otherwise, and for F16/BF16/F64, a new array.
   */
  getFloat32(name: string): Float32Array {
    const info = this.info(name);
    const size = DTYPE_SIZE[info.dtype];
    if (info.dtype !== "F32" && info.dtype !== "F16" && info.dtype !== "BF16" && info.dtype !== "F64") {
      throw new SafetensorsError(
        tensorWhere(this.source, name),
        `dtype ${info.dtype} is not a float type the engine can use`,
        FLOAT_TYPES,
      );
    }
    // Checked before reading: a tensor the engine cannot use is refused without reading its bytes.
    const u8 = this.bytes(name);
    const nbytes = u8.length;
    const n = nbytes / size;
    switch (info.dtype) {
      case "F32": {
        if (LITTLE_ENDIAN && u8.byteOffset % 4 === 0) return new Float32Array(u8.buffer, u8.byteOffset, n);
        if (LITTLE_ENDIAN) {
          // An explicit copy: Buffer#slice (a reader may return a Buffer) would be a view, not a copy.
          const out = new Float32Array(n);
          new Uint8Array(out.buffer).set(u8);
          return out;
        }
        const dv = new DataView(u8.buffer, u8.byteOffset, nbytes);
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
        return out;
      }
      case "F16": {
        const table = f16LookupTable();
        const out = new Float32Array(n);
        const u16 = alignedView(Uint16Array, u8, n);
        if (u16 !== null) for (let i = 0; i < n; i++) out[i] = table[u16[i]];
        else for (let i = 0, p = 0; i < n; i++, p += 2) out[i] = table[u8[p] | (u8[p + 1] << 8)];
        return out;
      }
      case "BF16": {
        const out = new Float32Array(n);
        // Writing the bits through a Uint32Array alias is exact and keeps NaN payloads, unlike arithmetic.
        const bits = new Uint32Array(out.buffer);
        const u16 = alignedView(Uint16Array, u8, n);
        if (u16 !== null) for (let i = 0; i < n; i++) bits[i] = u16[i] << 16;
        else for (let i = 0, p = 0; i < n; i++, p += 2) bits[i] = (u8[p] | (u8[p + 1] << 8)) << 16;
        return out;
      }
      default: {
        const dv = new DataView(u8.buffer, u8.byteOffset, nbytes);
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
        return out;
      }
    }
  }

  /**
   * An I8 tensor's values: a view of the bytes read (parse: of the caller's buffer; open: of the reader's array).
   * Any other dtype is a SafetensorsError, refused before its bytes are read.
   */
  getInt8(name: string): Int8Array {
    const info = this.info(name);
    if (info.dtype !== "I8") throw new SafetensorsError(tensorWhere(this.source, name), `dtype ${info.dtype} is not I8`, "an I8 tensor");
    const u8 = this.bytes(name);
    return new Int8Array(u8.buffer, u8.byteOffset, u8.length);
  }

  /**
   * Counts NaN/±Inf elements (by their exponent bits, without converting). Integer and bool tensors have none;
   * firstIndex is -1 when count is 0. Reads the tensor in chunks of at most 4 MiB (views, when parsed from memory).
   */
  findNonFinite(name: string): { count: number; firstIndex: number } {
    const info = this.info(name);
    const size = DTYPE_SIZE[info.dtype];
    const test = nonFiniteTest(info.dtype);
    if (test === null) return { count: 0, firstIndex: -1 };
    const nbytes = info.end - info.begin;
    const step = Math.max(size, SCAN_CHUNK - (SCAN_CHUNK % size));
    let count = 0;
    let firstIndex = -1;
    for (let off = 0; off < nbytes; off += step) {
      const chunk = this.src.read(this.dataOffset + info.begin + off, Math.min(step, nbytes - off));
      const r = test(chunk, chunk.length / size);
      if (r.count > 0 && count === 0) firstIndex = off / size + r.firstIndex;
      count += r.count;
    }
    return { count, firstIndex };
  }
}

type NonFiniteTest = (u8: Uint8Array, n: number) => { count: number; firstIndex: number };

/**
 * Each float format is non-finite exactly when its exponent field is all ones; the test reads just the bytes holding
 * it (little-endian: the exponent is in the last one or two bytes of each element). null for non-float dtypes.
 */
function nonFiniteTest(dtype: Dtype): NonFiniteTest | null {
  switch (dtype) {
    case "F32":
      return (u8, n) => {
        const u32 = alignedView(Uint32Array, u8, n);
        if (u32 !== null) return scan(n, (i) => (u32[i] & 0x7f800000) === 0x7f800000);
        return scanBytes(u8, n, 4, 2, 0x7f80);
      };
    case "F64":
      return (u8, n) => scanBytes(u8, n, 8, 6, 0x7ff0);
    case "F16":
      return (u8, n) => {
        const u16 = alignedView(Uint16Array, u8, n);
        if (u16 !== null) return scan(n, (i) => (u16[i] & 0x7c00) === 0x7c00);
        return scanBytes(u8, n, 2, 0, 0x7c00);
      };
    case "BF16":
      return (u8, n) => {
        const u16 = alignedView(Uint16Array, u8, n);
        if (u16 !== null) return scan(n, (i) => (u16[i] & 0x7f80) === 0x7f80);
        return scanBytes(u8, n, 2, 0, 0x7f80);
      };
    case "F8_E5M2":
      return (u8, n) => scanBytes(u8, n, 1, -1, 0x7c);
    case "F8_E4M3":
      // The e4m3fn variant: no infinities, only S.1111.111 is NaN.
      return (u8, n) => scanBytes(u8, n, 1, -1, 0x7f);
    default:
      return null;
  }
}

/**
 * A native-endian typed view of `u8` when that equals the file's little-endian layout and the address is aligned;
 * null otherwise (callers fall back to byte-wise reads).
 */
function alignedView<T extends Uint16Array | Uint32Array>(
  Ctor: { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number },
  u8: Uint8Array,
  n: number,
): T | null {
  return LITTLE_ENDIAN && u8.byteOffset % Ctor.BYTES_PER_ELEMENT === 0 ? new Ctor(u8.buffer, u8.byteOffset, n) : null;
}

/**
 * Byte-wise exponent test: the 16-bit little-endian word at byte `hi` of each `size`-byte element of `u8` (or the
 * single byte when hi is -1), masked by `mask`, must equal `mask`.
 */
function scanBytes(u8: Uint8Array, n: number, size: number, hi: number, mask: number): { count: number; firstIndex: number } {
  if (hi < 0) return scan(n, (i) => (u8[i] & mask) === mask);
  return scan(n, (i) => {
    const p = i * size + hi;
    return ((u8[p] | (u8[p + 1] << 8)) & mask) === mask;
  });
}

function scan(n: number, isNonFinite: (i: number) => boolean): { count: number; firstIndex: number } {
  let count = 0;
  let firstIndex = -1;
  for (let i = 0; i < n; i++) {
    if (isNonFinite(i)) {
      if (count === 0) firstIndex = i;
      count++;
    }
  }
  return { count, firstIndex };
}
