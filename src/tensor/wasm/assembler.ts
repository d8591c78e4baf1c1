/**
 * A tiny typed emitter of WebAssembly binaries: just what the kernels in kernels.ts need (one imported memory,
 * functions, immutable i32 globals, exports; MVP, SIMD and relaxed-SIMD opcodes). The kernels are written as
 * TypeScript that calls these methods, so the module's source is in the repository and nothing opaque is
 * committed; no toolchain runs at build or run time.
 *
 * Encoding per the WebAssembly core spec (binary format, §5) and the final SIMD / relaxed-SIMD opcode numbering.
 */

export type ValType = "i32" | "i64" | "f32" | "f64" | "v128";

const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/**
 * Bytes of an ASCII string (names, the JSON in our custom section). Not TextEncoder: some sandboxes that can run
 * WebAssembly (a bare node:vm context) have no TextEncoder.
 */
export function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) throw new RangeError(`ascii: ${JSON.stringify(s)} is not ASCII`);
    out[i] = c;
  }
  return out;
}

/** Unsigned LEB128. */
export function uleb(out: number[], v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`uleb: ${v} is not a u32`);
  do {
    let byte = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(out: number[], v: number): void {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new RangeError(`sleb: ${v} is not an i32`);
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

/** 0xfd then the SIMD sub-opcode in LEB128 (two bytes from 0x80 up). */
function S(op: number): number[] {
  const out = [0xfd];
  uleb(out, op);
  return out;
}

/** Instructions with no immediates: name → opcode bytes (SIMD ones are 0xfd then the LEB128 sub-opcode). */
const PLAIN = {
  unreachable: [0x00],
  nop: [0x01],
  return: [0x0f],
  drop: [0x1a],
  select: [0x1b],
  "i32.eqz": [0x45], "i32.eq": [0x46], "i32.ne": [0x47], "i32.lt_s": [0x48], "i32.lt_u": [0x49], "i32.gt_s": [0x4a],
  "i32.gt_u": [0x4b], "i32.le_s": [0x4c], "i32.le_u": [0x4d], "i32.ge_s": [0x4e], "i32.ge_u": [0x4f],
  "f32.eq": [0x5b], "f32.ne": [0x5c], "f32.lt": [0x5d], "f32.gt": [0x5e], "f32.le": [0x5f], "f32.ge": [0x60],
  "f64.eq": [0x61], "f64.ne": [0x62], "f64.lt": [0x63], "f64.gt": [0x64], "f64.le": [0x65], "f64.ge": [0x66],
  "i32.add": [0x6a], "i32.sub": [0x6b], "i32.mul": [0x6c], "i32.div_s": [0x6d], "i32.div_u": [0x6e],
  "i32.rem_u": [0x70], "i32.and": [0x71], "i32.or": [0x72], "i32.xor": [0x73], "i32.shl": [0x74], "i32.shr_s": [0x75],
  "i32.shr_u": [0x76],
  "f32.abs": [0x8b], "f32.neg": [0x8c], "f32.sqrt": [0x91], "f32.add": [0x92], "f32.sub": [0x93], "f32.mul": [0x94],
  "f32.div": [0x95], "f32.min": [0x96], "f32.max": [0x97],
  "f64.abs": [0x99], "f64.neg": [0x9a], "f64.sqrt": [0x9f], "f64.add": [0xa0], "f64.sub": [0xa1], "f64.mul": [0xa2],
  "f64.div": [0xa3], "f64.min": [0xa4], "f64.max": [0xa5],
  "f32.nearest": [0x90], "i32.trunc_sat_f32_s": [0xfc, 0x00],
  "f32.demote_f64": [0xb6], "f64.promote_f32": [0xbb], "f64.convert_i32_s": [0xb7], "f32.convert_i32_s": [0xb2],

  "i8x16.swizzle": S(0x0e),
  "i32x4.splat": S(0x11), "i64x2.splat": S(0x12), "f32x4.splat": S(0x13), "f64x2.splat": S(0x14),
  "i32x4.eq": S(0x37), "i32x4.ne": S(0x38),
  "f32x4.eq": S(0x41), "f32x4.ne": S(0x42), "f32x4.lt": S(0x43), "f32x4.gt": S(0x44),
  "f32x4.le": S(0x45), "f32x4.ge": S(0x46),
  "f64x2.eq": S(0x47), "f64x2.ne": S(0x48), "f64x2.lt": S(0x49), "f64x2.gt": S(0x4a),
  "f64x2.le": S(0x4b), "f64x2.ge": S(0x4c),
  "v128.not": S(0x4d), "v128.and": S(0x4e), "v128.andnot": S(0x4f), "v128.or": S(0x50),
  "v128.xor": S(0x51), "v128.bitselect": S(0x52), "v128.any_true": S(0x53),
  "f32x4.demote_f64x2_zero": S(0x5e), "f64x2.promote_low_f32x4": S(0x5f),
  "f32x4.ceil": S(0x67), "f32x4.floor": S(0x68), "f32x4.trunc": S(0x69), "f32x4.nearest": S(0x6a),
  "f64x2.ceil": S(0x74), "f64x2.floor": S(0x75), "f64x2.trunc": S(0x7a), "f64x2.nearest": S(0x94),
  "i8x16.narrow_i16x8_u": S(0x66), "i16x8.narrow_i32x4_s": S(0x85),
  "i16x8.extend_low_i8x16_s": S(0x87), "i16x8.extend_high_i8x16_s": S(0x88),
  "i16x8.extend_low_i8x16_u": S(0x89),
  "i32x4.extend_low_i16x8_u": S(0xa9),
  "i32x4.shl": S(0xab), "i32x4.shr_s": S(0xac), "i32x4.shr_u": S(0xad), "i32x4.add": S(0xae),
  "i32x4.sub": S(0xb1), "i32x4.mul": S(0xb5), "i32x4.min_s": S(0xb6), "i32x4.max_s": S(0xb8),
  "i32x4.dot_i16x8_s": S(0xba),
  "i64x2.extend_low_i32x4_s": S(0xc7), "i64x2.shl": S(0xcb), "i64x2.add": S(0xce),
  "f32x4.abs": S(0xe0), "f32x4.neg": S(0xe1), "f32x4.sqrt": S(0xe3), "f32x4.add": S(0xe4),
  "f32x4.sub": S(0xe5), "f32x4.mul": S(0xe6), "f32x4.div": S(0xe7), "f32x4.min": S(0xe8),
  "f32x4.max": S(0xe9), "f32x4.pmin": S(0xea), "f32x4.pmax": S(0xeb),
  "f64x2.abs": S(0xec), "f64x2.neg": S(0xed), "f64x2.sqrt": S(0xef), "f64x2.add": S(0xf0),
  "f64x2.sub": S(0xf1), "f64x2.mul": S(0xf2), "f64x2.div": S(0xf3), "f64x2.min": S(0xf4),
  "f64x2.max": S(0xf5), "f64x2.pmin": S(0xf6), "f64x2.pmax": S(0xf7),
  "i32x4.trunc_sat_f32x4_s": S(0xf8), "f32x4.convert_i32x4_s": S(0xfa),
  "i32x4.trunc_sat_f64x2_s_zero": S(0xfc), "f64x2.convert_low_i32x4_s": S(0xfe),
  // Relaxed SIMD: a·b + c, fused or not at the engine's choice (one rounding on FMA hardware).
  "f32x4.relaxed_madd": S(0x105), "f64x2.relaxed_madd": S(0x107),
  // a (i8x16) · b (i8x16 whose lanes must be within 7 bits: an engine may read their top bit either way), summed by
  // fours into c (i32x4).
  "i32x4.relaxed_dot_i8x16_i7x16_add_s": S(0x113),
} satisfies Record<string, readonly number[]>;

export type PlainOp = keyof typeof PLAIN;

/** Loads and stores: name → [opcode bytes, natural alignment log2]. */
const MEMORY = {
  "i32.load": [[0x28], 2], "f32.load": [[0x2a], 2], "f64.load": [[0x2b], 3], "i32.load8_u": [[0x2d], 0],
  "i32.store": [[0x36], 2], "f32.store": [[0x38], 2], "f64.store": [[0x39], 3], "i32.store8": [[0x3a], 0],
  "v128.load": [S(0x00), 4], "v128.load32_splat": [S(0x09), 2], "v128.store": [S(0x0b), 4],
  "v128.load32_zero": [S(0x5c), 2], "v128.load64_zero": [S(0x5d), 3],
} satisfies Record<string, readonly [readonly number[], number]>;

export type MemoryOp = keyof typeof MEMORY;

const LANE = {
  "f32x4.extract_lane": S(0x1f), "f32x4.replace_lane": S(0x20),
  "f64x2.extract_lane": S(0x21), "f64x2.replace_lane": S(0x22),
  "i32x4.extract_lane": S(0x1b),
} satisfies Record<string, readonly number[]>;

export type LaneOp = keyof typeof LANE;

/** A block, loop or if that a branch can name; depth is resolved when the branch is emitted. */
export interface Label {
  readonly index: number;
}

/** One function body under construction. Params are locals 0..n-1; `local()` adds more. */
export class FunctionBuilder {
  private code: number[] = [];
  /** Code that runs first, whatever was emitted before it was added (see `hoist`). */
  private readonly prologueCode: number[] = [];
  private readonly localTypes: ValType[] = [];
  private readonly controlStack: Label[] = [];

  constructor(
    readonly params: readonly ValType[],
    readonly results: readonly ValType[],
  ) {}

  /**
   * Emit straight-line code at the very start of the function instead of here: for loop-invariant values such as
   * vector constants, which V8 would otherwise rematerialise at every use inside a loop.
   */
  hoist(emit: () => void): void {
    const here = this.code;
    this.code = this.prologueCode;
    try {
      emit();
    } finally {
      this.code = here;
    }
  }

  /** Declare a new local of type t; returns its index. */
  local(t: ValType): number {
    this.localTypes.push(t);
    return this.params.length + this.localTypes.length - 1;
  }

  op(name: PlainOp): this {
    for (const b of PLAIN[name]) this.code.push(b);
    return this;
  }

  /** A load or store with a constant byte offset (the memarg offset folds into the address). */
  mem(name: MemoryOp, offset = 0, alignLog2?: number): this {
    const [bytes, natural] = MEMORY[name];
    for (const b of bytes) this.code.push(b);
    uleb(this.code, alignLog2 ?? natural);
    uleb(this.code, offset);
    return this;
  }

  /** v128.store32_lane / store64_lane: store one 32- or 64-bit lane of a v128 (address, vector on the stack). */
  storeLane(bits: 32 | 64, lane: number, offset = 0): this {
    this.code.push(...S(bits === 32 ? 0x5a : 0x5b));
    uleb(this.code, bits === 32 ? 2 : 3);
    uleb(this.code, offset);
    this.code.push(lane);
    return this;
  }

  lane(name: LaneOp, lane: number): this {
    for (const b of LANE[name]) this.code.push(b);
    this.code.push(lane);
    return this;
  }

  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16) throw new RangeError("i8x16.shuffle takes 16 lane indices");
    this.code.push(...S(0x0d), ...lanes);
    return this;
  }

  get(i: number): this {
    this.code.push(0x20);
    uleb(this.code, i);
    return this;
  }

  set(i: number): this {
    this.code.push(0x21);
    uleb(this.code, i);
    return this;
  }

  tee(i: number): this {
    this.code.push(0x22);
    uleb(this.code, i);
    return this;
  }

  i32(v: number): this {
    this.code.push(0x41);
    sleb(this.code, v | 0);
    return this;
  }

  f32(v: number): this {
    this.code.push(0x43);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    this.code.push(...b);
    return this;
  }

  f64(v: number): this {
    this.code.push(0x44);
    const b = new Uint8Array(new Float64Array([v]).buffer);
    this.code.push(...b);
    return this;
  }

  /** v128.const from four f32 lanes (one value splats). */
  f32x4(a: number, b = a, c = a, d = a): this {
    this.code.push(...S(0x0c), ...new Uint8Array(new Float32Array([a, b, c, d]).buffer));
    return this;
  }

  f64x2(a: number, b = a): this {
    this.code.push(...S(0x0c), ...new Uint8Array(new Float64Array([a, b]).buffer));
    return this;
  }

  i32x4(a: number, b = a, c = a, d = a): this {
    this.code.push(...S(0x0c), ...new Uint8Array(new Int32Array([a, b, c, d]).buffer));
    return this;
  }

  call(fn: number): this {
    this.code.push(0x10);
    uleb(this.code, fn);
    return this;
  }

  private open(opcode: number, result: ValType | null): Label {
    this.code.push(opcode, result === null ? 0x40 : VALTYPE[result]);
    const label = { index: this.controlStack.length };
    this.controlStack.push(label);
    return label;
  }

  /** block … end; `body` gets the label a `br` uses to jump past the end. */
  block(body: (exit: Label) => void): this {
    const l = this.open(0x02, null);
    body(l);
    return this.end();
  }

  /** loop … end; `body` gets the label a `br` uses to jump back to the top. */
  loop(body: (top: Label) => void): this {
    const l = this.open(0x03, null);
    body(l);
    return this.end();
  }

  /** if (pops an i32) … [else …] end. */
  if(then: () => void, otherwise?: () => void): this {
    this.open(0x04, null);
    then();
    if (otherwise) {
      this.code.push(0x05);
      otherwise();
    }
    return this.end();
  }

  private end(): this {
    this.controlStack.pop();
    this.code.push(0x0b);
    return this;
  }

  private depth(l: Label): number {
    const d = this.controlStack.length - 1 - l.index;
    if (d < 0 || this.controlStack[l.index] !== l) throw new Error("branch to a label that is not open");
    return d;
  }

  br(l: Label): this {
    this.code.push(0x0c);
    uleb(this.code, this.depth(l));
    return this;
  }

  brIf(l: Label): this {
    this.code.push(0x0d);
    uleb(this.code, this.depth(l));
    return this;
  }

  /** The function's code-section entry: locals (run-length grouped) then the body and `end`. */
  encode(): number[] {
    if (this.controlStack.length !== 0) throw new Error("unclosed block");
    const body: number[] = [];
    const groups: [number, ValType][] = [];
    for (const t of this.localTypes) {
      if (groups.length > 0 && groups[groups.length - 1][1] === t) groups[groups.length - 1][0]++;
      else groups.push([1, t]);
    }
    uleb(body, groups.length);
    for (const [n, t] of groups) {
      uleb(body, n);
      body.push(VALTYPE[t]);
    }
    for (const b of this.prologueCode) body.push(b);
    for (const b of this.code) body.push(b);
    body.push(0x0b);
    const out: number[] = [];
    uleb(out, body.length);
    return out.concat(body);
  }
}

export interface MemoryImport {
  module: string;
  name: string;
  initialPages: number;
  maximumPages?: number;
  shared: boolean;
}

/** A module: one imported memory, functions, exported immutable i32 globals. */
export class ModuleBuilder {
  private readonly types: string[] = [];
  private readonly typeSigs: { params: readonly ValType[]; results: readonly ValType[] }[] = [];
  private readonly functions: { type: number; body: FunctionBuilder | null }[] = [];
  private readonly exports: { name: string; kind: 0 | 3; index: number }[] = [];
  private readonly globals: { value: number }[] = [];
  private readonly customs: { name: string; bytes: Uint8Array }[] = [];
  private memory: MemoryImport | null = null;

  importMemory(m: MemoryImport): void {
    this.memory = m;
  }

  private typeIndex(params: readonly ValType[], results: readonly ValType[]): number {
    const key = `${params.join(",")}->${results.join(",")}`;
    let i = this.types.indexOf(key);
    if (i < 0) {
      i = this.types.length;
      this.types.push(key);
      this.typeSigs.push({ params, results });
    }
    return i;
  }

  /** Reserve a function index first (so others can call it), then `define` its body. */
  declare(params: readonly ValType[], results: readonly ValType[] = []): { index: number; define: (build: (f: FunctionBuilder) => void) => void } {
    const index = this.functions.length;
    const slot = { type: this.typeIndex(params, results), body: null as FunctionBuilder | null };
    this.functions.push(slot);
    return {
      index,
      define: (build) => {
        const f = new FunctionBuilder(params, results);
        build(f);
        slot.body = f;
      },
    };
  }

  exportFunction(name: string, index: number): void {
    this.exports.push({ name, kind: 0, index });
  }

  /** An exported immutable i32 global (a constant the host can read, e.g. feature flags). */
  exportConstant(name: string, value: number): void {
    this.exports.push({ name, kind: 3, index: this.globals.length });
    this.globals.push({ value });
  }

  /** A custom section (id 0), readable from a compiled module with WebAssembly.Module.customSections. */
  customSection(name: string, bytes: Uint8Array): void {
    this.customs.push({ name, bytes });
  }

  encode(): Uint8Array<ArrayBuffer> {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, content: number[]) => {
      out.push(id);
      uleb(out, content.length);
      for (const b of content) out.push(b);
    };
    const name = (buf: number[], s: string) => {
      const bytes = ascii(s);
      uleb(buf, bytes.length);
      buf.push(...bytes);
    };

    const types: number[] = [];
    uleb(types, this.typeSigs.length);
    for (const { params, results } of this.typeSigs) {
      types.push(0x60);
      uleb(types, params.length);
      for (const p of params) types.push(VALTYPE[p]);
      uleb(types, results.length);
      for (const r of results) types.push(VALTYPE[r]);
    }
    section(1, types);

    if (this.memory) {
      const m = this.memory;
      const imports: number[] = [];
      uleb(imports, 1);
      name(imports, m.module);
      name(imports, m.name);
      imports.push(0x02);
      if (m.shared) {
        if (m.maximumPages === undefined) throw new Error("a shared memory needs a maximum");
        imports.push(0x03);
      } else imports.push(m.maximumPages === undefined ? 0x00 : 0x01);
      uleb(imports, m.initialPages);
      if (m.maximumPages !== undefined) uleb(imports, m.maximumPages);
      section(2, imports);
    }

    const funcs: number[] = [];
    uleb(funcs, this.functions.length);
    for (const f of this.functions) uleb(funcs, f.type);
    section(3, funcs);

    if (this.globals.length > 0) {
      const globals: number[] = [];
      uleb(globals, this.globals.length);
      for (const g of this.globals) {
        globals.push(0x7f, 0x00, 0x41);
        sleb(globals, g.value);
        globals.push(0x0b);
      }
      section(6, globals);
    }

    const exps: number[] = [];
    uleb(exps, this.exports.length);
    for (const e of this.exports) {
      name(exps, e.name);
      exps.push(e.kind);
      uleb(exps, e.index);
    }
    section(7, exps);

    const code: number[] = [];
    uleb(code, this.functions.length);
    for (const [i, f] of this.functions.entries()) {
      if (f.body === null) throw new Error(`function ${i} was declared but never defined`);
      for (const b of f.body.encode()) code.push(b);
    }
    section(10, code);
    for (const c of this.customs) {
      const content: number[] = [];
      name(content, c.name);
      for (const b of c.bytes) content.push(b);
      section(0, content);
    }
    return new Uint8Array(out);
  }
}
