import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { SafetensorsError } from "../src/errors.js";
import {
  type Dtype,
  DTYPE_SIZE,
  DTYPES,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  MAX_HEADER_SIZE,
  parseHeader,
  readHeaderLength,
  SafetensorsFile,
  type WriteTensor,
  writeSafetensors,
} from "../src/safetensors/index.js";
import { canonicalOrder, compareCodePoints } from "../src/safetensors/dtype.js";
import { sharedDir } from "./helpers/shared.js";

const enc = new TextEncoder();

/** A file from header text, raw header bytes or a value to JSON.stringify, and data bytes (or a count of zeros). */
function build(header: string | object, data: Uint8Array | number = 0, opts: { headerLength?: number } = {}): Uint8Array {
  const h =
    header instanceof Uint8Array ? header : enc.encode(typeof header === "string" ? header : JSON.stringify(header));
  const d = typeof data === "number" ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.length + d.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, opts.headerLength ?? h.length, true);
  out.set(h, 8);
  out.set(d, 8 + h.length);
  return out;
}

function caught(fn: () => unknown): SafetensorsError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    return e as SafetensorsError;
  }
  return expect.fail("expected a SafetensorsError, nothing was thrown");
}

/** Parsing must fail with a SafetensorsError whose message contains every fragment. */
function rejects(bytes: Uint8Array, ...fragments: (string | RegExp)[]): SafetensorsError {
  const e = caught(() => SafetensorsFile.parse(bytes));
  for (const f of fragments) {
    if (typeof f === "string") expect(e.message).toContain(f);
    else expect(e.message).toMatch(f);
  }
  return e;
}

// A small valid header to break one field at a time: F32 "a" [2] at [0, 8), U8 "b" [3] at [8, 11).
function base(): Record<string, any> {
  return {
    __metadata__: { k: "v" },
    a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
    b: { dtype: "U8", shape: [3], data_offsets: [8, 11] },
  };
}

function withA(patch: Record<string, unknown>, data = 11): Uint8Array {
  const h = base();
  h.a = { ...h.a, ...patch };
  return build(h, data);
}

function withARaw(entry: string, data = 11): Uint8Array {
  return build(`{"a":${entry},"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}`, data);
}

// ---------------------------------------------------------------------------------------------------------------

const shared = sharedDir();

describe.skipIf(shared === null)("tiny fixtures", () => {
  const dir = join(shared ?? "", "fixtures/tiny");
  const read = (f: string) => readFileSync(join(dir, f));
  // Loaded in beforeAll: the body of a skipped describe still runs while tests are collected.
  let f32File: SafetensorsFile;
  beforeAll(() => {
    f32File = SafetensorsFile.parse(read("model.safetensors"), { source: "model.safetensors" });
  });

  it("reads the F32 fixture", () => {
    expect(f32File.metadata).toEqual(new Map([["format", "pt"]]));
    expect(f32File.names()).toHaveLength(40); // 4 embedding + 16 per layer × 2 + 4 head
    expect(f32File.dataOffset).toBe(8 + f32File.headerLength);
    expect(f32File.headerLength % 8).toBe(0);
    const word = f32File.tensors.get("distilbert.embeddings.word_embeddings.weight");
    expect(word?.dtype).toBe("F32");
    expect(word?.shape).toHaveLength(2);
    for (const name of f32File.names()) {
      const info = f32File.tensors.get(name)!;
      const v = f32File.getFloat32(name);
      expect(v.length).toBe(info.shape.reduce((a, b) => a * b, 1));
      expect(f32File.findNonFinite(name)).toEqual({ count: 0, firstIndex: -1 });
    }
  });

  it.each([
    ["model.f16.safetensors", "F16", f32ToF16Bits, 2 ** -11],
    ["model.bf16.safetensors", "BF16", f32ToBf16Bits, 2 ** -8],
  ] as const)("%s holds exactly the round-to-nearest-even casts of the F32 weights", (file, dtype, cast, relErr) => {
    const half = SafetensorsFile.parse(read(file), { source: file });
    expect(half.names()).toEqual(f32File.names());
    expect(half.metadata).toEqual(f32File.metadata);
    for (const name of half.names()) {
      const info = half.tensors.get(name)!;
      expect(info.dtype).toBe(dtype);
      expect(info.shape).toEqual(f32File.tensors.get(name)!.shape);
      const ref = f32File.getFloat32(name);
      const raw = half.bytes(name);
      const got = half.getFloat32(name);
      expect(got.length).toBe(ref.length);
      for (let i = 0; i < ref.length; i++) {
        const bits = raw[2 * i] | (raw[2 * i + 1] << 8);
        if (bits !== cast(ref[i])) expect.fail(`${name}[${i}]: bits 0x${bits.toString(16)}, cast of ${ref[i]} is 0x${cast(ref[i]).toString(16)}`);
        const tol = Math.max(Math.abs(ref[i]) * relErr, 2 ** -25);
        if (!(Math.abs(got[i] - ref[i]) <= tol)) expect.fail(`${name}[${i}]: ${got[i]} vs ${ref[i]}`);
        if (dtype === "F16" && got[i] !== Math.fround(f16BitsToF32(bits))) expect.fail(`${name}[${i}] decode`);
      }
    }
  });

  it.each(["model.safetensors", "model.f16.safetensors", "model.bf16.safetensors"])(
    "writing %s back gives the same bytes (canonical order = name order for a single dtype)",
    (file) => {
      const bytes = new Uint8Array(read(file));
      const st = SafetensorsFile.parse(bytes);
      const tensors = st.names().map((name) => {
        const { dtype, shape } = st.tensors.get(name)!;
        return { name, dtype, shape, data: st.bytes(name) };
      });
      // Shuffle the input: the writer, not the caller, decides the order.
      tensors.reverse();
      const out = writeSafetensors(tensors, st.metadata);
      expect(out.length).toBe(bytes.length);
      expect(Buffer.compare(Buffer.from(out), Buffer.from(bytes))).toBe(0);
    },
  );

  it("parseHeader learns the file size from the header bytes alone", () => {
    const whole = read("model.safetensors");
    const n = readHeaderLength(whole.subarray(0, 8));
    const h = parseHeader(whole.subarray(0, 8 + n));
    expect(h.fileLength).toBe(whole.length);
    expect([...h.tensors.keys()]).toEqual(f32File.names());
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("writer: byte-exact against references", () => {
  const floats = Float32Array.from([0, 1, 2, 3, 4, 5]);

  // Expected bytes are those of the Rust unit tests test_serialization, test_empty, test_serialization_forced_alignement.
  it("matches Rust test_serialization", () => {
    const out = writeSafetensors([{ name: "attn.0", dtype: "F32", shape: [1, 2, 3], data: floats }]);
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect([...out.subarray(0, 8)]).toEqual([64, 0, 0, 0, 0, 0, 0, 0]);
    expect(new TextDecoder().decode(out.subarray(8, 72))).toBe(header);
    expect([...out.subarray(72)]).toEqual([0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64]);
  });

  it("matches Rust test_serialization_forced_alignement (padding with spaces)", () => {
    const out = writeSafetensors([{ name: "attn0", dtype: "F32", shape: [1, 1, 2, 3], data: floats }]);
    expect([...out.subarray(0, 8)]).toEqual([72, 0, 0, 0, 0, 0, 0, 0]);
    expect(new TextDecoder().decode(out.subarray(8, 80))).toBe(
      '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ',
    );
    expect(out.length).toBe(80 + 24);
  });

  it("matches Rust test_empty", () => {
    expect([...writeSafetensors([])]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect([...writeSafetensors([], { framework: "pt" })]).toEqual([
      40, 0, 0, 0, 0, 0, 0, 0, ...enc.encode('{"__metadata__":{"framework":"pt"}}'), 32, 32, 32, 32, 32,
    ]);
  });

  // Produced by safetensors_io.serialize (and identical to safetensors 0.8.0's safetensors.torch.save) for 12 tensors
  // of 11 dtypes, a scalar, an empty tensor, "__proto__", a name needing JSON escapes (", \, \u0001, \n, raw DEL),
  // and names U+E000 vs U+1F600, whose UTF-8 order differs from their UTF-16 order.
  const PY_REF =
    "e8020000000000007b225f5f6d657461646174615f5f223a7b22666f726d6174223a227074227d2c2263223a7b226474797065223a22493634222c227368617065223a5b325d2c22646174615f6f666673657473223a5b302c31365d7d2c227363616c6172223a7b226474797065223a22463634222c227368617065223a5b5d2c22646174615f6f666673657473223a5b31362c32345d7d2c2262223a7b226474797065223a22463332222c227368617065223a5b322c335d2c22646174615f6f666673657473223a5b32342c34385d7d2c22656d707479223a7b226474797065223a22463332222c227368617065223a5b302c335d2c22646174615f6f666673657473223a5b34382c34385d7d2c225f5f70726f746f5f5f223a7b226474797065223a22493332222c227368617065223a5b312c315d2c22646174615f6f666673657473223a5b34382c35325d7d2c22ee8080223a7b226474797065223a2242463136222c227368617065223a5b315d2c22646174615f6f666673657473223a5b35322c35345d7d2c22f09f9880223a7b226474797065223a2242463136222c227368617065223a5b315d2c22646174615f6f666673657473223a5b35342c35365d7d2c2261223a7b226474797065223a22463136222c227368617065223a5b335d2c22646174615f6f666673657473223a5b35362c36325d7d2c22693136223a7b226474797065223a22493136222c227368617065223a5b315d2c22646174615f6f666673657473223a5b36322c36345d7d2c226938223a7b226474797065223a224938222c227368617065223a5b325d2c22646174615f6f666673657473223a5b36342c36365d7d2c227538223a7b226474797065223a225538222c227368617065223a5b315d2c22646174615f6f666673657473223a5b36362c36375d7d2c22c3a95c22715c5c5c75303030315c6e7f223a7b226474797065223a22424f4f4c222c227368617065223a5b335d2c22646174615f6f666673657473223a5b36372c37305d7d7d2020202020200100000000000000feffffffffffffff0000000000000440000000000000803e0000003f0000403f0000803f0000a03f070000004040003f003e80c0ff7bd4feff02ff010001";

  it("matches safetensors_io.py / the Rust library on a mixed-dtype file", () => {
    const tensors: WriteTensor[] = [
      { name: "b", dtype: "F32", shape: [2, 3], data: Float32Array.from([0, 0.25, 0.5, 0.75, 1, 1.25]) },
      { name: "a", dtype: "F16", shape: [3], data: Uint16Array.from([1.5, -2.25, 65504].map(f32ToF16Bits)) },
      { name: "c", dtype: "I64", shape: [2], data: BigInt64Array.from([1n, -2n]) },
      { name: "\ue000", dtype: "BF16", shape: [1], data: Uint16Array.from([f32ToBf16Bits(3)]) },
      { name: "\u{1F600}", dtype: "BF16", shape: [1], data: Uint16Array.from([f32ToBf16Bits(0.5)]) },
      { name: 'é"q\\\x01\n\x7f', dtype: "BOOL", shape: [3], data: Uint8Array.from([1, 0, 1]) },
      { name: "__proto__", dtype: "I32", shape: [1, 1], data: Int32Array.from([7]) },
      { name: "scalar", dtype: "F64", shape: [], data: Float64Array.from([2.5]) },
      { name: "empty", dtype: "F32", shape: [0, 3], data: new Float32Array(0) },
      { name: "i8", dtype: "I8", shape: [2], data: Int8Array.from([-1, 2]) },
      { name: "i16", dtype: "I16", shape: [1], data: Int16Array.from([-300]) },
      { name: "u8", dtype: "U8", shape: [1], data: Uint8Array.from([255]) },
    ];
    const out = writeSafetensors(tensors, { format: "pt" });
    expect(Buffer.from(out).toString("hex")).toBe(PY_REF);

    const st = SafetensorsFile.parse(out);
    expect(st.names()[0]).toBe("c");
    expect(st.tensors.get("__proto__")?.dtype).toBe("I32");
    expect([...st.getFloat32("scalar")]).toEqual([2.5]);
    expect([...st.getFloat32("a")]).toEqual([1.5, -2.25, 65504]);
    expect([...st.getFloat32("\u{1F600}")]).toEqual([0.5]);
    expect(st.getFloat32("empty").length).toBe(0);
  });

  it("keeps metadata insertion order and accepts a Map", () => {
    const a = writeSafetensors([], new Map([["z", "1"], ["a", "2"]]));
    expect(new TextDecoder().decode(a.subarray(8)).trimEnd()).toBe('{"__metadata__":{"z":"1","a":"2"}}');
    expect(SafetensorsFile.parse(a).metadata).toEqual(new Map([["z", "1"], ["a", "2"]]));
    // Present but empty metadata is written (as Rust does for Some(empty)).
    expect(new TextDecoder().decode(writeSafetensors([], {}).subarray(8)).trimEnd()).toBe('{"__metadata__":{}}');
  });

  it.each<[string, WriteTensor[], string]>([
    ["duplicate names", [{ name: "x", dtype: "U8", shape: [1], data: new Uint8Array(1) }, { name: "x", dtype: "U8", shape: [1], data: new Uint8Array(1) }], "more than once"],
    ["reserved name", [{ name: "__metadata__", dtype: "U8", shape: [1], data: new Uint8Array(1) }], "reserved"],
    ["lone surrogate", [{ name: "a\ud800", dtype: "U8", shape: [1], data: new Uint8Array(1) }], "surrogate"],
    ["data length", [{ name: "x", dtype: "F32", shape: [2], data: new Float32Array(3) }], "needs 8"],
    ["typed array kind", [{ name: "x", dtype: "F16", shape: [2], data: new Float32Array(1) }], "cannot hold F16"],
    ["float array for an int dtype", [{ name: "x", dtype: "I32", shape: [2], data: new Float32Array(2) }], "cannot hold I32"],
    ["negative dim", [{ name: "x", dtype: "U8", shape: [-1], data: new Uint8Array(0) }], "non-negative"],
    ["unknown dtype", [{ name: "x", dtype: "F128" as Dtype, shape: [1], data: new Uint8Array(16) }], "unknown dtype"],
  ])("rejects bad input: %s", (_, tensors, fragment) => {
    expect(caught(() => writeSafetensors(tensors)).message).toContain(fragment);
  });
});

// ---------------------------------------------------------------------------------------------------------------

const nameArb = fc
  .oneof(
    fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "", "a", "\ue000", "\u{1F600}", 'q"\\\n'),
    fc.string({ unit: "binary", maxLength: 6 }),
    fc.string({ unit: "grapheme-ascii", maxLength: 6 }),
  )
  .filter((s) => s !== "__metadata__");

const tensorArb = fc.record({
  name: nameArb,
  dtype: fc.constantFrom(...DTYPES),
  shape: fc.array(fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant(1)), { maxLength: 4 }),
  seed: fc.integer({ min: 0, max: 255 }),
});

function materialise(t: { name: string; dtype: Dtype; shape: number[]; seed: number }): WriteTensor {
  const n = t.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[t.dtype];
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = (t.seed + i * 31) & 0xff;
  return { name: t.name, dtype: t.dtype, shape: t.shape, data };
}

const fileArb = fc.record({
  tensors: fc.uniqueArray(tensorArb, { selector: (t) => t.name, maxLength: 8 }).map((ts) => ts.map(materialise)),
  metadata: fc.option(fc.dictionary(nameArb, fc.string({ unit: "binary", maxLength: 5 }), { maxKeys: 3 }), { nil: undefined }),
});

describe("round trip (property)", () => {
  it("orders names by UTF-8 bytes (code points), not UTF-16 code units", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), (a, b) => {
        const want = Math.sign(Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
        return Math.sign(compareCodePoints(a, b)) === want;
      }),
      { numRuns: 5000 },
    );
    expect(compareCodePoints("\ue000", "\u{1F600}")).toBeLessThan(0);
    expect("\ue000" < "\u{1F600}").toBe(false); // why the plain comparison is not enough
  });

  it("write → parse returns every tensor, shape, dtype, byte and metadata entry; re-writing is idempotent", () => {
    fc.assert(
      fc.property(fileArb, ({ tensors, metadata }) => {
        const out = writeSafetensors(tensors, metadata);
        const st = SafetensorsFile.parse(out);
        expect(st.headerLength % 8).toBe(0);
        expect(new Set(st.names())).toEqual(new Set(tensors.map((t) => t.name)));
        // names() is the writer's (canonical) order.
        expect(st.names()).toEqual(tensors.slice().sort(canonicalOrder).map((t) => t.name));
        for (const t of tensors) {
          const info = st.tensors.get(t.name)!;
          expect(info.dtype).toBe(t.dtype);
          expect(info.shape).toEqual(t.shape);
          expect(st.bytes(t.name)).toEqual(t.data);
          // The canonical order keeps each tensor aligned to its element size.
          expect((st.dataOffset + info.begin) % DTYPE_SIZE[t.dtype]).toBe(0);
        }
        const ranks = st.names().map((n) => DTYPES.indexOf(st.tensors.get(n)!.dtype));
        for (let i = 1; i < ranks.length; i++) expect(ranks[i]).toBeLessThanOrEqual(ranks[i - 1]);
        expect(Object.fromEntries(st.metadata)).toEqual(metadata ?? {});

        const again = writeSafetensors(
          st.names().map((name) => ({ ...st.tensors.get(name)!, data: st.bytes(name) })),
          metadata === undefined ? undefined : st.metadata,
        );
        expect(again).toEqual(out);
      }),
      { numRuns: 300 },
    );
  });

  it("does not depend on the JSON key order of the header", () => {
    fc.assert(
      fc.property(fileArb, fc.integer(), ({ tensors }, seed) => {
        const st = SafetensorsFile.parse(writeSafetensors(tensors));
        const entries = st.names().map((n) => {
          const { dtype, shape, begin, end } = st.tensors.get(n)!;
          return [n, { data_offsets: [begin, end], shape, dtype }] as const;
        });
        // Deterministic shuffle.
        const order = entries.map((e, i) => ({ e, k: Math.sin(seed + i) })).sort((x, y) => x.k - y.k).map((x) => x.e);
        const obj: Record<string, unknown> = {};
        for (const [n, v] of order) Object.defineProperty(obj, n, { value: v, enumerable: true });
        const data = new Uint8Array(st.tensors.size === 0 ? 0 : Math.max(...entries.map(([, v]) => v.data_offsets[1])));
        const parsed = SafetensorsFile.parse(build(obj, data));
        expect(parsed.names()).toEqual(st.names());
      }),
      { numRuns: 100 },
    );
  });

  it("never throws anything but SafetensorsError on corrupted bytes", () => {
    const good = writeSafetensors(
      [
        { name: "w", dtype: "F32", shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
        { name: "h", dtype: "F16", shape: [3], data: Uint16Array.from([1, 2, 3]) },
      ],
      { format: "pt" },
    );
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat({ max: good.length - 1 }), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }),
        (edits) => {
          const bad = good.slice();
          for (const { at, byte } of edits) bad[at] = byte;
          try {
            const st = SafetensorsFile.parse(bad);
            for (const n of st.names()) st.findNonFinite(n);
          } catch (e) {
            if (!(e instanceof SafetensorsError)) throw e;
          }
        },
      ),
      { numRuns: 2000 },
    );
    for (let len = 0; len < good.length; len++) caught(() => SafetensorsFile.parse(good.subarray(0, len)));
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("validation: one rule at a time", () => {
  it("the base file is valid", () => {
    const st = SafetensorsFile.parse(build(base(), 11));
    expect(st.names()).toEqual(["a", "b"]);
    expect(st.metadata.get("k")).toBe("v");
  });

  describe("length prefix", () => {
    it("rejects files shorter than 8 bytes", () => {
      rejects(new Uint8Array(0), "too short");
      rejects(new Uint8Array(7), "7 bytes long", "too short");
    });
    it("rejects a header length above MAX_HEADER_SIZE (low and high word)", () => {
      rejects(build("{}", 0, { headerLength: MAX_HEADER_SIZE + 1 }), "exceeds", "100000001");
      const f = build("{}");
      new DataView(f.buffer).setUint32(4, 1, true);
      rejects(f, "exceeds", String(2 ** 32 + 2));
      expect(caught(() => readHeaderLength(Uint8Array.from([255, 255, 255, 255, 255, 255, 255, 255]))).message).toContain(
        "18446744073709551615",
      );
    });
    it("rejects 8 + N beyond the file", () => {
      rejects(build("{}", 0, { headerLength: 3 }).subarray(0, 10), "runs past the end");
    });
    it("readHeaderLength reads the u64", () => {
      expect(readHeaderLength(Uint8Array.from([64, 1, 0, 0, 0, 0, 0, 0]))).toBe(320);
      expect(caught(() => readHeaderLength(new Uint8Array(5), "x.safetensors")).message).toMatch(/^x\.safetensors: /);
    });
  });

  describe("header text", () => {
    it("rejects non-UTF-8", () => {
      const f = build('{"\u00ff":1}');
      f[10] = 0xff; // first byte of the two-byte sequence for ÿ
      rejects(f, "model.safetensors: header is not valid UTF-8");
      // An encoded surrogate (CESU-8) is not UTF-8 either.
      rejects(build(Uint8Array.from([...enc.encode('{"'), 0xed, 0xa0, 0x80, ...enc.encode('":1}')])), "not valid UTF-8");
    });
    it("rejects a byte-order mark (JSON.parse must see it)", () => {
      rejects(build("\ufeff{}"), "not valid JSON");
    });
    it("rejects text that is not JSON", () => {
      rejects(build("{"), "not valid JSON");
      rejects(build('{"a":1,}'), "not valid JSON");
      rejects(build("        "), "not valid JSON");
      rejects(build("{}x"), "not valid JSON");
    });
    it("rejects JSON that is not an object", () => {
      rejects(build("[]"), "header is an array", "expected a JSON object");
      rejects(build("null"), "header is null");
      rejects(build("42"), "header is 42");
      rejects(build('"x"'), 'header is the string "x"');
    });
    it("survives deeply nested JSON", () => {
      const deep = "[".repeat(200_000) + "]".repeat(200_000);
      rejects(build(`{"a":{"dtype":"F32","shape":${deep},"data_offsets":[0,0]}}`), 'tensor "a"');
    });
  });

  describe("names", () => {
    it("treats __proto__, constructor and toString as ordinary tensor names", () => {
      const h = `{"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"constructor":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"toString":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}`;
      const st = SafetensorsFile.parse(build(h, Uint8Array.from([7, 8, 9])));
      expect(st.names()).toEqual(["__proto__", "constructor", "toString"]);
      expect([...st.bytes("__proto__")]).toEqual([7]);
      expect([...st.bytes("constructor")]).toEqual([8]);
      expect([...st.bytes("toString")]).toEqual([9]);
      expect(st.tensors.get("__proto__")?.shape).toEqual([1]);
      expect(st.has("hasOwnProperty")).toBe(false);
      expect(caught(() => st.bytes("hasOwnProperty")).message).toContain("no such tensor");
    });
    it("rejects duplicate tensor names, also when spelled with escapes", () => {
      const dup = `{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`;
      rejects(build(dup, 1), 'key "a" more than once');
      const esc = `{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\\u0061":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`;
      rejects(build(esc, 1), 'key "a" more than once');
      rejects(build(`{"__metadata__":{},"__metadata__":{}}`), '"__metadata__" more than once');
    });
    it("rejects duplicate fields inside an entry and duplicate metadata keys", () => {
      rejects(withARaw('{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}'), 'tensor "a"', '"dtype" appears more than once');
      rejects(build(`{"__metadata__":{"k":"1","k":"2"}}`), "__metadata__", '"k" appears more than once');
    });
    it("rejects names with lone surrogate escapes (not Unicode, rejected by the Rust reader)", () => {
      rejects(build(`{"x\\ud800":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}`), "lone UTF-16 surrogate");
    });
    it("names the source given by the caller", () => {
      const e = caught(() => SafetensorsFile.parse(withA({ dtype: "F128" }), { source: "w/x.safetensors" }));
      expect(e.message).toMatch(/^w\/x\.safetensors: tensor "a": /);
      expect(e.where).toBe('w/x.safetensors: tensor "a"');
      expect(rejects(withA({ dtype: "F128" })).where).toBe('model.safetensors: tensor "a"');
    });
  });

  describe("__metadata__", () => {
    it("is optional", () => {
      const h = base();
      delete h.__metadata__;
      expect(SafetensorsFile.parse(build(h, 11)).metadata.size).toBe(0);
    });
    it("must be an object", () => {
      for (const m of [[], "x", null, 1]) rejects(build({ ...base(), __metadata__: m }, 11), "__metadata__", "an object of strings");
    });
    it("must have string values only", () => {
      rejects(build({ ...base(), __metadata__: { k: 1 } }, 11), '__metadata__: value of "k" is 1', "expected a string");
      rejects(build({ ...base(), __metadata__: { k: null } }, 11), 'value of "k" is null');
      rejects(build({ ...base(), __metadata__: { k: {} } }, 11), 'value of "k" is an object');
      rejects(build({ ...base(), __metadata__: { k: ["v"] } }, 11), 'value of "k" is an array');
    });
  });

  describe("tensor entries", () => {
    it("must be objects", () => {
      rejects(withARaw("[]"), 'tensor "a": entry is an array');
      rejects(withARaw('"F32"'), 'tensor "a": entry is the string "F32"');
      rejects(withARaw("null"), 'tensor "a": entry is null');
    });
    it("must have exactly dtype, shape and data_offsets", () => {
      rejects(withARaw('{"dtype":"F32","shape":[2]}'), 'tensor "a"', 'missing field "data_offsets"');
      rejects(withARaw('{"shape":[2],"data_offsets":[0,8]}'), 'missing field "dtype"');
      rejects(withARaw('{"dtype":"F32","data_offsets":[0,8]}'), 'missing field "shape"');
      rejects(withA({ extra: 1 }), 'tensor "a"', 'unknown field "extra"');
      rejects(withARaw('{"dtype":"F32","shape":[2],"data_offsets":[0,8],"__proto__":{}}'), 'unknown field "__proto__"');
    });
  });

  describe("dtype", () => {
    it.each(DTYPES)("accepts %s", (dtype) => {
      const n = 3 * DTYPE_SIZE[dtype];
      const st = SafetensorsFile.parse(build({ t: { dtype, shape: [3], data_offsets: [0, n] } }, n));
      expect(st.tensors.get("t")?.dtype).toBe(dtype);
    });
    it.each([["F128"], ["f32"], [" F32"], ["toString"], ["__proto__"], [4], [null], [["F32"]]])(
      "rejects %j",
      (dtype) => {
        rejects(withA({ dtype }), 'tensor "a": dtype is', "not a known dtype", "expected one of BOOL U8");
      },
    );
  });

  describe("shape", () => {
    it("must be an array", () => {
      rejects(withA({ shape: 2 }), 'tensor "a": shape is 2', "expected an array of non-negative integers");
      rejects(withA({ shape: "2" }), 'tensor "a": shape is the string "2"');
      rejects(withA({ shape: null }), 'tensor "a": shape is null');
      rejects(withA({ shape: { 0: 2 } }), 'tensor "a": shape is an object');
    });
    it.each<[unknown, string]>([
      [-1, "shape[0] is -1"],
      [1.5, "shape[0] is 1.5"],
      ["2", 'shape[0] is the string "2"'],
      [null, "shape[0] is null"],
      [[2], "shape[0] is an array"],
      [true, "shape[0] is true"],
    ])("rejects the dimension %j", (d, fragment) => {
      rejects(withA({ shape: [d] }), `tensor "a": ${fragment}`, "expected a non-negative integer below 2^53");
    });
    it("rejects dimensions beyond 2^53 - 1 (they cannot be represented exactly)", () => {
      rejects(withARaw('{"dtype":"F32","shape":[9007199254740993],"data_offsets":[0,8]}'), 'tensor "a": shape[0] is 9007199254740992');
      rejects(withARaw('{"dtype":"F32","shape":[1e400],"data_offsets":[0,8]}'), "shape[0] is Infinity");
    });
    it("rejects integral values not written as integers (1.0, 1e1, -0), as the Rust usize parser does", () => {
      rejects(withARaw('{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}'), 'tensor "a": shape: the number 2.0 is not written as a non-negative integer');
      rejects(withARaw('{"dtype":"U8","shape":[8],"data_offsets":[0,8e0]}'), 'tensor "a": data_offsets: the number 8e0');
      rejects(withARaw('{"dtype":"F32","shape":[2],"data_offsets":[-0,8]}'), "the number -0");
    });
    it("rejects a product beyond 2^53, even with offsets that would fit", () => {
      rejects(withA({ shape: [2 ** 30, 2 ** 30, 2 ** 30] }), 'tensor "a": shape [1073741824, 1073741824, 1073741824] has more than 2^53 elements');
    });
    it("computes the product left to right like Rust's checked_mul: an overflow before a zero is still an overflow", () => {
      const h = (shape: number[]) => build({ z: { dtype: "F64", shape, data_offsets: [0, 0] } });
      rejects(h([2 ** 30, 2 ** 30, 2 ** 30, 0]), "more than 2^53 elements");
      expect(SafetensorsFile.parse(h([0, 2 ** 30, 2 ** 30, 2 ** 30])).tensors.get("z")?.shape).toEqual([0, 2 ** 30, 2 ** 30, 2 ** 30]);
      expect(caught(() => writeSafetensors([{ name: "z", dtype: "U8", shape: [2 ** 30, 2 ** 30, 2 ** 30, 0], data: new Uint8Array(0) }])).message).toContain("too large");
    });
    it("reads [] as a scalar (one element) and a zero dimension as zero bytes", () => {
      const h = { s: { dtype: "F32", shape: [], data_offsets: [0, 4] }, z: { dtype: "F64", shape: [3, 0, 2 ** 40], data_offsets: [4, 4] } };
      const st = SafetensorsFile.parse(build(h, Uint8Array.from([0, 0, 0x80, 0x3f])));
      expect([...st.getFloat32("s")]).toEqual([1]);
      expect(st.getFloat32("z").length).toBe(0);
      expect(st.bytes("z").length).toBe(0);
      rejects(build({ s: { dtype: "F32", shape: [], data_offsets: [0, 0] } }), 'tensor "s"', "span 0 bytes but F32 [] needs 4");
    });
    it("does not allocate from a huge shape (size is checked against the offsets first)", () => {
      rejects(withA({ shape: [2 ** 40] }), "span 8 bytes but F32 [1099511627776] needs 4398046511104");
    });
  });

  describe("data_offsets", () => {
    it.each<[unknown, string]>([
      [8, "data_offsets is 8"],
      ["0,8", 'data_offsets is the string "0,8"'],
      [[0], "data_offsets is an array of 1 elements"],
      [[0, 4, 8], "data_offsets is an array of 3 elements"],
      [[], "data_offsets is an array of 0 elements"],
      [null, "data_offsets is null"],
    ])("must be a pair: rejects %j", (v, fragment) => {
      rejects(withA({ data_offsets: v }), `tensor "a": ${fragment}`, "expected [begin, end]");
    });
    it.each<[unknown[], string]>([
      [[-8, 0], "data_offsets begin is -8"],
      [[0, -8], "data_offsets end is -8"],
      [[0.5, 8], "data_offsets begin is 0.5"],
      [[0, 8.5], "data_offsets end is 8.5"],
      [["0", 8], 'data_offsets begin is the string "0"'],
      [[0, 2 ** 53], "data_offsets end is 9007199254740992"],
      [[0, null], "data_offsets end is null"],
    ])("rejects %j", (v, fragment) => {
      rejects(withA({ data_offsets: v }), `tensor "a": ${fragment}`, "expected a non-negative integer below 2^53");
    });
    it("rejects begin > end", () => {
      rejects(withA({ data_offsets: [8, 0] }), 'tensor "a": data_offsets [8, 0] end before they begin');
    });
    it("rejects a size that does not match shape × dtype size", () => {
      rejects(withA({ shape: [3] }), 'tensor "a": data_offsets [0, 8] span 8 bytes but F32 [3] needs 12');
      rejects(withA({ dtype: "F64" }), "F64 [2] needs 16");
      rejects(withA({ dtype: "F16" }), "F16 [2] needs 4");
    });
  });

  describe("layout of the data buffer", () => {
    it("rejects a hole at the start", () => {
      const h = base();
      h.a.data_offsets = [1, 9];
      h.b.data_offsets = [9, 12];
      rejects(build(h, 12), 'tensor "a"', "leave bytes [0, 1) of the data buffer unused");
    });
    it("rejects a hole between tensors", () => {
      const h = base();
      h.b.data_offsets = [9, 12];
      rejects(build(h, 12), 'tensor "b"', "leave bytes [8, 9)");
    });
    it("rejects overlapping tensors", () => {
      const h = base();
      h.b.data_offsets = [7, 10];
      rejects(build(h, 10), 'tensor "b"', 'overlap bytes up to 8 of tensor "a"');
      // Two tensors on the same bytes.
      const same = `{"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"y":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`;
      rejects(build(same, 2), "overlap");
      // A zero-size tensor inside another one.
      const inside = `{"x":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"y":{"dtype":"U8","shape":[0],"data_offsets":[2,2]}}`;
      rejects(build(inside, 4), 'tensor "y"', "overlap");
    });
    it("accepts zero-size tensors at a boundary and any JSON key order", () => {
      const h = `{"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]},"z":{"dtype":"U8","shape":[0],"data_offsets":[8,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"U8","shape":[0],"data_offsets":[11,11]}}`;
      const st = SafetensorsFile.parse(build(h, 11));
      expect(st.names()).toEqual(["a", "z", "b", "e"]);
    });
    it("rejects trailing bytes", () => {
      rejects(build(base(), 12), "1 trailing bytes after the last tensor", "expected a file of");
      rejects(build("{}", 1), "1 trailing bytes");
    });
    it("rejects truncated data", () => {
      const e = rejects(build(base(), 10), "file is truncated", "describes 11 bytes of tensor data but only 10 follow it");
      expect(e.where).toBe("model.safetensors");
      const whole = build(base(), 11);
      rejects(whole.subarray(0, whole.length - 5), "truncated");
    });
    it("accepts a header padded with spaces or other JSON whitespace, and an empty file body", () => {
      expect(SafetensorsFile.parse(build("{}   \t\n ")).names()).toEqual([]);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("getFloat32 and friends", () => {
  const file = writeSafetensors([
    { name: "w", dtype: "F32", shape: [2, 2], data: Float32Array.from([1, -2, 3.5, 1e-30]) },
    { name: "d", dtype: "F64", shape: [3], data: Float64Array.from([1 / 3, 1e300, -0]) },
    { name: "h", dtype: "F16", shape: [2], data: Uint16Array.from([0x3c00, 0xc000]) },
    { name: "b", dtype: "BF16", shape: [2], data: Uint16Array.from([0x3f80, 0x7fc1]) },
    { name: "i", dtype: "I64", shape: [1], data: BigInt64Array.from([5n]) },
    { name: "u", dtype: "U8", shape: [1], data: Uint8Array.from([5]) },
  ]);

  it("returns a zero-copy view for aligned F32 (Uint8Array and ArrayBuffer input)", () => {
    const st = SafetensorsFile.parse(file);
    const w = st.getFloat32("w");
    expect([...w]).toEqual([1, -2, 3.5, Math.fround(1e-30)]);
    expect(w.buffer).toBe(file.buffer);
    expect(w.byteOffset).toBe(st.dataOffset + st.tensors.get("w")!.begin);

    const ab = file.slice().buffer;
    const st2 = SafetensorsFile.parse(ab);
    expect(st2.getFloat32("w").buffer).toBe(ab);
    expect(st2.bytes("w").buffer).toBe(ab);
  });

  it("copies when the F32 data is misaligned", () => {
    const big = new Uint8Array(file.length + 1);
    big.set(file, 1);
    const odd = big.subarray(1);
    const st = SafetensorsFile.parse(odd);
    const w = st.getFloat32("w");
    expect(w.buffer).not.toBe(big.buffer);
    expect([...w]).toEqual([1, -2, 3.5, Math.fround(1e-30)]);
    expect(st.bytes("w").buffer).toBe(big.buffer); // raw bytes are still a view
  });

  it("converts F64, F16 and BF16", () => {
    const st = SafetensorsFile.parse(file);
    expect([...st.getFloat32("d")]).toEqual([Math.fround(1 / 3), Infinity, -0]);
    expect([...st.getFloat32("h")]).toEqual([1, -2]);
    const b = st.getFloat32("b");
    expect(b[0]).toBe(1);
    expect(Number.isNaN(b[1])).toBe(true);
    expect(b.buffer).not.toBe(file.buffer);
  });

  it("refuses non-float dtypes and unknown names", () => {
    const st = SafetensorsFile.parse(file);
    const e = caught(() => st.getFloat32("i"));
    expect(e.message).toBe('model.safetensors: tensor "i": dtype I64 is not a float type the engine can use; expected F32, F16, BF16 or F64');
    expect(caught(() => st.getFloat32("u")).message).toContain("dtype U8 is not a float type");
    expect(caught(() => st.getFloat32("nope")).message).toBe('model.safetensors: tensor "nope": no such tensor in the file');
  });

  it("findNonFinite counts NaN and ±Inf by dtype, aligned or not", () => {
    const bytes = writeSafetensors([
      { name: "f", dtype: "F32", shape: [6], data: Float32Array.from([1, NaN, Infinity, 2, -Infinity, 3.4e38]) },
      { name: "d", dtype: "F64", shape: [3], data: Float64Array.from([1e308, -Infinity, NaN]) },
      { name: "h", dtype: "F16", shape: [4], data: Uint16Array.from([0x7bff, 0xfc00, 0x7e00, 0x0001]) },
      { name: "b", dtype: "BF16", shape: [4], data: Uint16Array.from([0x7f7f, 0x7f80, 0xffc0, 0x0080]) },
      { name: "e5", dtype: "F8_E5M2", shape: [3], data: Uint8Array.from([0x7b, 0x7c, 0xfe]) },
      { name: "e4", dtype: "F8_E4M3", shape: [3], data: Uint8Array.from([0x7e, 0x7f, 0xff]) },
      { name: "ok", dtype: "F32", shape: [2], data: Float32Array.from([0, -0]) },
      { name: "int", dtype: "I32", shape: [1], data: Int32Array.from([-1]) },
      { name: "empty", dtype: "F16", shape: [0], data: new Uint16Array(0) },
    ]);
    const nf = SafetensorsFile.parse(bytes);
    const odd = new Uint8Array(bytes.length + 1);
    odd.set(bytes, 1);
    const nfOdd = SafetensorsFile.parse(odd.subarray(1));
    for (const name of nf.names()) {
      expect(nfOdd.findNonFinite(name)).toEqual(nf.findNonFinite(name));
      if (!["int", "e5", "e4"].includes(name)) expect(nfOdd.getFloat32(name)).toEqual(nf.getFloat32(name));
    }
    expect(nf.findNonFinite("f")).toEqual({ count: 3, firstIndex: 1 });
    expect(nf.findNonFinite("d")).toEqual({ count: 2, firstIndex: 1 });
    expect(nf.findNonFinite("h")).toEqual({ count: 2, firstIndex: 1 });
    expect(nf.findNonFinite("b")).toEqual({ count: 2, firstIndex: 1 });
    expect(nf.findNonFinite("e5")).toEqual({ count: 2, firstIndex: 1 });
    expect(nf.findNonFinite("e4")).toEqual({ count: 2, firstIndex: 1 });
    expect(nf.findNonFinite("ok")).toEqual({ count: 0, firstIndex: -1 });
    expect(nf.findNonFinite("int")).toEqual({ count: 0, firstIndex: -1 });
    expect(nf.findNonFinite("empty")).toEqual({ count: 0, firstIndex: -1 });
  });

  it("keeps its own index: editing the public tensors map does not redirect reads", () => {
    const st = SafetensorsFile.parse(file);
    st.tensors.set("w", { name: "w", dtype: "F32", shape: [1], begin: 0, end: 4 });
    expect(st.getFloat32("w").length).toBe(4);
    expect(Object.isFrozen(st.info("w").shape)).toBe(true);
  });
});
