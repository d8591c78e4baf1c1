/**
 * Opening a safetensors file through a ByteReader (SafetensorsFile.open, loadModel's `weights` reader,
 * loadModelFromDir's file-descriptor reader) must behave exactly like parsing the bytes in memory: same tensors,
 * same values, same error class and message on every hostile file; a reader's I/O failure is a typed error naming
 * the file. Plus the wasm backend's LinearWeight, which keeps no reference to the caller's weight array.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, truncateSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DistilBertError, FileError, SafetensorsError } from "../src/errors.js";
import { loadModel } from "../src/model/load.js";
import { loadModelFromDir } from "../src/node/model-dir.js";
import { type ByteReader, memoryReader, SafetensorsFile, writeSafetensors } from "../src/safetensors/index.js";
import type { Backend } from "../src/tensor/backend.js";
import { JsBackend } from "../src/tensor/js-backend.js";
import { WasmBackend } from "../src/tensor/wasm/backend.js";
import { tinyDir } from "./helpers/fixture.js";
import { randomArray } from "./helpers/random.js";
import { repoRoot } from "./helpers/shared.js";

/** A reader that copies every range it is asked for (as a file reader does), counting the bytes it hands out. */
function copyingReader(bytes: Uint8Array, misalign = false): ByteReader & { bytesRead: number; reads: number } {
  return {
    byteLength: bytes.length,
    bytesRead: 0,
    reads: 0,
    read(position: number, length: number): Uint8Array {
      expect(position + length).toBeLessThanOrEqual(bytes.length);
      this.bytesRead += length;
      this.reads++;
      if (!misalign) return bytes.slice(position, position + length);
      // Odd addresses: every typed-array fast path must fall back to its copying / byte-wise branch.
      const out = new Uint8Array(length + 1);
      out.set(bytes.subarray(position, position + length), 1);
      return out.subarray(1);
    },
  };
}

/** The outcome of a call: its value, or the error's class name and message. */
function outcome<T>(f: () => T): { ok: T } | { error: string; message: string } {
  try {
    return { ok: f() };
  } catch (e) {
    return { error: (e as Error).constructor.name, message: (e as Error).message };
  }
}

async function outcomeAsync(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "loaded";
  } catch (e) {
    return `${(e as Error).constructor.name}: ${(e as Error).message}`;
  }
}

/** Bytes as base64: compared as one string (deep equality over millions of elements is slow). */
const b64 = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");

/** Everything a SafetensorsFile tells, with each tensor's raw bytes and float32 bits (NaN payloads included). */
function contents(st: SafetensorsFile): unknown {
  return {
    source: st.source,
    headerLength: st.headerLength,
    dataOffset: st.dataOffset,
    metadata: [...st.metadata],
    tensors: st.names().map((name) => {
      const info = st.info(name);
      const float = ["F32", "F16", "BF16", "F64"].includes(info.dtype);
      return {
        info,
        nonFinite: st.findNonFinite(name),
        bytes: b64(st.bytes(name)),
        f32bits: float ? b64(st.getFloat32(name)) : null,
      };
    }),
  };
}

describe("SafetensorsFile.open equals parse", () => {
  it.each(["model.safetensors", "model.f16.safetensors", "model.bf16.safetensors"])("on the shared fixture %s", (file) => {
    const bytes = new Uint8Array(readFileSync(join(tinyDir(), file)));
    const want = contents(SafetensorsFile.parse(bytes, { source: file }));
    for (const misalign of [false, true]) {
      const reader = copyingReader(bytes, misalign);
      const st = SafetensorsFile.open(reader, { source: file });
      // Opening reads the 8-byte length and the header, nothing of the data.
      expect(reader.bytesRead).toBe(st.dataOffset);
      expect(contents(st)).toEqual(want);
    }
    expect(contents(SafetensorsFile.open(memoryReader(bytes), { source: file }))).toEqual(want);
  });

  it("on every dtype, NaN payloads and zero-size tensors, aligned or not; F32 is the reader's array, not a copy", () => {
    const bytes = writeSafetensors([
      { name: "f", dtype: "F32", shape: [5], data: new Float32Array(new Uint32Array([0x7fc00001, 0xff800000, 0x3f800000, 0x80000000, 0x7f800000]).buffer) },
      { name: "d", dtype: "F64", shape: [2], data: Float64Array.from([1 / 3, -Infinity]) },
      { name: "h", dtype: "F16", shape: [3], data: Uint16Array.from([0x7c01, 0x3c00, 0x0001]) },
      { name: "b", dtype: "BF16", shape: [3], data: Uint16Array.from([0x7fc1, 0xff80, 0x3f80]) },
      { name: "e5", dtype: "F8_E5M2", shape: [2], data: Uint8Array.from([0x7c, 0x01]) },
      { name: "i", dtype: "I64", shape: [1], data: BigInt64Array.from([-5n]) },
      { name: "z", dtype: "F32", shape: [0, 4], data: new Float32Array(0) },
    ]);
    const want = contents(SafetensorsFile.parse(bytes));
    expect(contents(SafetensorsFile.open(copyingReader(bytes)))).toEqual(want);
    expect(contents(SafetensorsFile.open(copyingReader(bytes, true)))).toEqual(want);
    // The fresh array a reader returns is used as is (no second copy of the tensor).
    const handedOut: Uint8Array[] = [];
    const st = SafetensorsFile.open({ byteLength: bytes.length, read: (p, n) => (handedOut.push(bytes.slice(p, p + n)), handedOut[handedOut.length - 1]) });
    expect(st.getFloat32("f").buffer).toBe(handedOut[handedOut.length - 1].buffer);
    // The refusal of a non-float dtype reads nothing.
    const before = handedOut.length;
    expect(outcome(() => st.getFloat32("i"))).toEqual({ error: "SafetensorsError", message: 'model.safetensors: tensor "i": dtype I64 is not a float type the engine can use; expected F32, F16, BF16 or F64' });
    expect(handedOut.length).toBe(before);
  });

  it("findNonFinite reads a large tensor in bounded chunks and finds the first bad element past a chunk boundary", () => {
    const data = new Float32Array(1_500_000); // 6 MB: two chunks
    data[1_200_000] = NaN;
    data[1_400_000] = -Infinity;
    const bytes = writeSafetensors([{ name: "big", dtype: "F32", shape: [data.length], data }]);
    let largest = 0;
    const st = SafetensorsFile.open({ byteLength: bytes.length, read: (p, n) => ((largest = Math.max(largest, n)), bytes.slice(p, p + n)) });
    expect(st.findNonFinite("big")).toEqual({ count: 2, firstIndex: 1_200_000 });
    expect(largest).toBeLessThanOrEqual(1 << 22);
  });

  it("on every file of the hostile corpus: the same error class and message (or the same contents)", () => {
    const corpus = join(repoRoot, "test/hostile/corpus");
    let compared = 0;
    let failed = 0;
    for (const name of readdirSync(corpus).sort()) {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(join(corpus, name, "model.safetensors")));
      } catch {
        continue; // the case removes the weights file
      }
      const source = join(corpus, name, "model.safetensors");
      // With and without the model loader's header limit.
      for (const maxHeaderLength of [undefined, 1 << 20]) {
        const options = { source, maxHeaderLength };
        const viaParse = outcome(() => contents(SafetensorsFile.parse(bytes, options)));
        const viaReader = outcome(() => contents(SafetensorsFile.open(copyingReader(bytes), options)));
        expect(viaReader, `${name} (limit ${maxHeaderLength})`).toEqual(viaParse);
        compared++;
        if ("error" in viaParse) failed++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(2 * 45);
    expect(failed).toBeGreaterThanOrEqual(2 * 40);
  });

  it("loadModel with a reader gives the same model, or the same error, as with the bytes, on every corpus case", async () => {
    const corpus = join(repoRoot, "test/hostile/corpus");
    const cases = JSON.parse(readFileSync(join(repoRoot, "test/hostile/cases.json"), "utf8")) as { name: string; options?: { checkWeights?: boolean } }[];
    let n = 0;
    for (const c of cases) {
      const dir = join(corpus, c.name);
      const files = readdirSync(dir);
      const hasTokenizer = files.includes("vocab.txt") || files.includes("tokenizer.json");
      if (!files.includes("model.safetensors") || !files.includes("config.json") || !hasTokenizer) continue;
      const read = (f: string) => readFileSync(join(dir, f));
      const text = (f: string) => new TextDecoder().decode(read(f));
      const tok = files.includes("vocab.txt") ? { vocab: text("vocab.txt") } : { tokenizerJson: text("tokenizer.json") };
      const bytes = new Uint8Array(read("model.safetensors"));
      const common = { config: text("config.json"), ...tok, backend: "js" as const, checkWeights: c.options?.checkWeights, sources: { weights: join(dir, "model.safetensors") } };
      const viaBytes = await outcomeAsync(loadModel({ ...common, weights: bytes }));
      const viaReader = await outcomeAsync(loadModel({ ...common, weights: copyingReader(bytes) }));
      expect(viaReader, c.name).toBe(viaBytes);
      n++;
    }
    expect(n).toBeGreaterThanOrEqual(45);
  });
});

describe("a reader that fails", () => {
  const bytes = () => new Uint8Array(readFileSync(join(tinyDir(), "model.safetensors")));
  const tiny = () => ({ config: readFileSync(join(tinyDir(), "config.json"), "utf8"), vocab: readFileSync(join(tinyDir(), "vocab.txt"), "utf8") });

  /** A copying reader that throws `error` (or returns `short` bytes) on its read number `at` (0 = the length). */
  function failing(at: number, error: unknown, short = false): ByteReader {
    const b = bytes();
    let reads = 0;
    return {
      byteLength: b.length,
      read(position, length) {
        if (reads++ === at) {
          if (short) return b.slice(position, position + length - 1);
          throw error;
        }
        return b.slice(position, position + length);
      },
    };
  }

  it("mid-read, with an I/O error: a FileError naming the file and the byte range, on one line", async () => {
    for (const at of [0, 1, 2, 7, 30]) {
      const err = Object.assign(new Error("EIO: i/o error, read\nat /dev/sda"), { code: "EIO" });
      const e = await loadModel({ ...tiny(), weights: failing(at, err), backend: "js", sources: { weights: "/models/x/model.safetensors" } }).then(
        () => null,
        (x: unknown) => x,
      );
      expect(e, `read ${at}`).toBeInstanceOf(FileError);
      const msg = (e as Error).message;
      expect(msg).toMatch(/^\/models\/x\/model\.safetensors: cannot be read at bytes \[\d+, \d+\) \(EIO: i\/o error, read\\u000aat \/dev\/sda\)$/);
    }
  });

  it("throwing a non-Error, or returning too few bytes or not bytes: typed errors naming the file", async () => {
    const load = (weights: ByteReader) =>
      loadModel({ ...tiny(), weights, backend: "js", sources: { weights: "w.safetensors" } }).then(
        () => null,
        (x: unknown) => x as Error,
      );
    const thrown = await load(failing(3, "disk on fire"));
    expect(thrown).toBeInstanceOf(FileError);
    expect(thrown?.message).toMatch(/^w\.safetensors: cannot be read at bytes \[\d+, \d+\) \(disk on fire\)$/);
    const short = await load(failing(3, null, true));
    expect(short).toBeInstanceOf(FileError);
    expect(short?.message).toMatch(/^w\.safetensors: a read of (\d+) bytes at byte \d+ returned \d+ bytes; expected exactly \1 bytes/);
    const b = bytes();
    const notBytes = await load({ byteLength: b.length, read: (p, n) => (p === 0 ? b.slice(0, n) : ([1, 2, 3] as unknown as Uint8Array)) });
    expect(notBytes).toBeInstanceOf(FileError);
    expect(notBytes?.message).toContain("returned an array of 3 elements");
    // A DistilBertError from the reader (as the Node file reader throws) is passed on unchanged.
    const own = new FileError("w.safetensors", "ends at byte 9");
    expect(await load(failing(2, own))).toBe(own);
  });

  it("a reader without a usable byteLength or read is refused before any read", () => {
    for (const byteLength of [-1, 1.5, NaN, 2 ** 53, "12"]) {
      const e = outcome(() => SafetensorsFile.open({ byteLength, read: () => expect.fail("read") } as unknown as ByteReader));
      expect(e).toMatchObject({ error: "SafetensorsError" });
      expect((e as { message: string }).message).toContain("model.safetensors: the reader's byteLength is");
    }
    expect(outcome(() => SafetensorsFile.open({ byteLength: 8 } as unknown as ByteReader))).toMatchObject({ error: "SafetensorsError" });
  });

  it("loadModel reads the data once without checkWeights, and never after it resolves", async () => {
    const b = bytes();
    const reader = copyingReader(b);
    const model = await loadModel({ ...tiny(), weights: reader, backend: "js" });
    expect(reader.bytesRead).toBeLessThanOrEqual(b.length);
    const reads = reader.reads;
    await model.classify("a good film");
    expect(reader.reads).toBe(reads);
  });
});

describe("loadModelFromDir reads through a file descriptor", () => {
  const temps: string[] = [];
  afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));
  function copyTiny(): string {
    const dir = mkdtempSync(join(tmpdir(), "st-reader-"));
    temps.push(dir);
    for (const f of ["config.json", "vocab.txt", "model.safetensors"]) copyFileSync(join(tinyDir(), f), join(dir, f));
    return dir;
  }
  /** Descriptors of this process open on `path` (Linux: /proc/self/fd). */
  const openOn = (path: string) =>
    readdirSync("/proc/self/fd").filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(path);
      } catch {
        return false;
      }
    }).length;

  /** The js backend, with a hook run before the first Linear is prepared (after the header and embeddings are read). */
  function hooked(hook: () => void): Backend {
    const js = new JsBackend();
    let first = true;
    return Object.assign(Object.create(js) as Backend, {
      prepareLinear(...args: Parameters<Backend["prepareLinear"]>) {
        if (first) hook();
        first = false;
        return js.prepareLinear(...args);
      },
    });
  }

  it("gives the same logits as loading the bytes, and closes the descriptor", async () => {
    const dir = copyTiny();
    const fromDir = await loadModelFromDir(dir, { backend: "js" });
    const fromBytes = await loadModel({
      config: readFileSync(join(dir, "config.json"), "utf8"),
      vocab: readFileSync(join(dir, "vocab.txt"), "utf8"),
      weights: new Uint8Array(readFileSync(join(dir, "model.safetensors"))),
      backend: "js",
    });
    expect((await fromDir.classify("a good film")).logits).toEqual((await fromBytes.classify("a good film")).logits);
    if (process.platform === "linux") expect(openOn(dir)).toBe(0);
  });

  it("a file that shrinks mid-read: a FileError with the path (exit 2 in the CLI), and the descriptor is closed", async () => {
    const dir = copyTiny();
    const path = join(dir, "model.safetensors");
    let during = -1;
    const e = await loadModelFromDir(dir, {
      backend: hooked(() => {
        during = process.platform === "linux" ? openOn(dir) : 1;
        truncateSync(path, 1000);
      }),
    }).then(
      () => null,
      (x: unknown) => x as Error,
    );
    expect(during).toBe(1); // the hook ran while the file was open
    expect(e).toBeInstanceOf(FileError);
    expect(e).toBeInstanceOf(DistilBertError);
    expect(e?.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: ends at byte \\d+, but it had \\d+ bytes when it was opened; expected a file that does not change while the model loads$`));
    if (process.platform === "linux") expect(openOn(dir)).toBe(0);
  });

  it.skipIf(process.platform === "win32")("a file removed mid-read still loads: the open descriptor keeps its bytes", async () => {
    const dir = copyTiny();
    const model = await loadModelFromDir(dir, { backend: hooked(() => unlinkSync(join(dir, "model.safetensors"))) });
    expect((await model.classify("a good film")).logits).toHaveLength(2);
    if (process.platform === "linux") expect(openOn(dir)).toBe(0);
  });

  it("a hostile weights file: the SafetensorsError names the file, and the descriptor is closed", async () => {
    const dir = copyTiny();
    const path = join(dir, "model.safetensors");
    const b = new Uint8Array(readFileSync(path));
    truncateSync(path, b.length - 4);
    const e = await loadModelFromDir(dir, { backend: "js" }).then(
      () => null,
      (x: unknown) => x as Error,
    );
    expect(e).toBeInstanceOf(SafetensorsError);
    expect(e?.message).toContain(`${path}: file is truncated`);
    if (process.platform === "linux") expect(openOn(dir)).toBe(0);
  });
});

describe("WasmBackend.prepareLinear keeps nothing of the caller's", () => {
  it("weight is rebuilt from the panels bit for bit (NaN payloads, ragged last panel), after memory growth too", async () => {
    const be = await WasmBackend.create();
    for (const [dOut, dIn] of [[13, 7], [1, 1], [8, 3], [24, 40], [77, 129]]) {
      const w = randomArray(dOut * dIn, dOut * 1000 + dIn, 1);
      const bits = new Uint32Array(w.buffer);
      bits[0] = 0x7fc12345; // a NaN with a payload
      bits[bits.length - 1] = 0xff800001;
      const want = bits.slice();
      const bias = randomArray(dOut, dIn);
      const biasWant = bias.slice();
      const lw = be.prepareLinear(w, bias, dOut, dIn);
      // The caller's arrays are not referenced: overwriting them changes nothing the LinearWeight reports.
      w.fill(0);
      bias.fill(0);
      expect(lw.weight).not.toBe(w);
      expect(lw.bias).not.toBe(bias);
      expect(new Uint32Array(lw.weight.buffer)).toEqual(want);
      expect(lw.bias).toEqual(biasWant);
      // Growing the memory detaches the old buffer; the getter reads the current one.
      be.prepareLinear(new Float32Array(512 * 1024), null, 512, 1024);
      expect(new Uint32Array(lw.weight.buffer)).toEqual(want);
      expect(lw.weight.length).toBe(dOut * dIn);
    }
    be.dispose();
  });
});
