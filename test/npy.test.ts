/**
 * .npy (NumPy format 1.0) headers byte for byte, as numpy 2.x writes them (the expected bytes below were read from
 * `numpy.save` output), data little-endian float32, and — when a Python with numpy is on this machine — numpy
 * itself reading our files (optional: CI has no Python).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeNpy, encodeNpy, npyHeader, shapeRepr } from "../src/node/npy.js";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** The preamble numpy writes: magic, version 1.0, u16 LE header length, dict, `spaces` spaces, '\n'. */
function expected(dict: string, spaces: number, total: number): Uint8Array {
  const hlen = total - 10;
  return latin1(`\x93NUMPY\x01\x00${String.fromCharCode(hlen & 255, hlen >> 8)}${dict}${" ".repeat(spaces)}\n`);
}

describe("npy header", () => {
  // [shape, dict, spaces after it, total preamble bytes] from numpy 2.4's np.save
  const cases: [number[], string, number, number][] = [
    [[2, 3], "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 58, 128],
    [[5], "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", 60, 128],
    [[], "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 62, 128],
    [[1, 4, 7, 8], "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4, 7, 8), }", 52, 128],
    [[30522, 32], "{'descr': '<f4', 'fortran_order': False, 'shape': (30522, 32), }", 53, 128],
    // exactly on the 64-byte boundary before padding: numpy still pads a whole 64 bytes
    [[1, 1, 1, 1, 10, 10, 10, 10, 10, 10, 10, 10], "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 10, 10, 10, 10, 10, 10, 10, 10), }", 84, 192],
  ];
  for (const [shape, dict, spaces, total] of cases) {
    it(`shape ${shapeRepr(shape)}: ${total} bytes, identical to numpy's`, () => {
      const got = npyHeader(shape);
      const want = expected(dict, spaces, total);
      expect(got.length).toBe(total);
      expect(got.length % 64).toBe(0);
      expect(Array.from(got)).toEqual(Array.from(want));
    });
  }

  it("starts with \\x93NUMPY 1 0 and a little-endian u16 length", () => {
    const h = npyHeader([2, 3]);
    expect(Array.from(h.subarray(0, 10))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 118, 0]);
    expect(h[h.length - 1]).toBe(0x0a);
  });

  it("shape tuples print as Python does", () => {
    expect(shapeRepr([])).toBe("()");
    expect(shapeRepr([5])).toBe("(5,)");
    expect(shapeRepr([1, 2, 3])).toBe("(1, 2, 3)");
  });

  it("rejects bad shapes and mismatched data", () => {
    expect(() => npyHeader([-1])).toThrow(RangeError);
    expect(() => npyHeader([1.5])).toThrow(RangeError);
    expect(() => encodeNpy(new Float32Array(5), [2, 3])).toThrow(/5 values/);
  });
});

describe("npy data", () => {
  it("is little-endian float32 after the header, and round-trips (NaN, ±0, ±Inf, subnormals included)", () => {
    const data = Float32Array.from([1, -2.5, 0, -0, NaN, Infinity, -Infinity, 1e-45, 3.4028234663852886e38, Math.fround(0.1)]);
    const bytes = encodeNpy(data, [2, 5]);
    expect(bytes.length).toBe(128 + 40);
    expect(Array.from(bytes.subarray(128, 132))).toEqual([0, 0, 0x80, 0x3f]); // 1.0f
    const back = decodeNpy(bytes);
    expect(back.shape).toEqual([2, 5]);
    expect(new Uint32Array(back.data.buffer)).toEqual(new Uint32Array(data.buffer));
    const scalar = decodeNpy(encodeNpy(Float32Array.from([7]), []));
    expect(scalar.shape).toEqual([]);
    expect(Array.from(scalar.data)).toEqual([7]);
  });

  it("decodes a view that is a window on a larger buffer (a small Buffer from readFileSync sits in Node's pool)", () => {
    const bytes = encodeNpy(Float32Array.from([1, 2, 3]), [3]);
    const pool = new Uint8Array(bytes.length + 64).fill(0xaa);
    pool.set(bytes, 16);
    expect(Array.from(decodeNpy(pool.subarray(16, 16 + bytes.length)).data)).toEqual([1, 2, 3]);
  });

  // Optional cross-check with real numpy: runs only where a python3 with numpy is installed.
  const py = spawnSync("python3", ["-c", "import numpy; print(numpy.__version__)"], { encoding: "utf8" });
  const hasNumpy = py.status === 0;
  it.skipIf(!hasNumpy)(`numpy ${hasNumpy ? py.stdout.trim() : "(absent)"} loads our files and writes the same bytes`, () => {
    const dir = mkdtempSync(join(tmpdir(), "npy-"));
    try {
      // the last one lands on the 64-byte boundary before padding (10⁵ values, small enough to write)
      const shapes = [[2, 3], [5], [], [1, 4, 7, 8], [1, 1, 1, 1, 1, 1, 1, 1, 10, 10, 10, 10, 10]];
      shapes.forEach((shape, k) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const data = Float32Array.from({ length: n }, (_, i) => Math.fround((i - n / 2) * 0.37));
        writeFileSync(join(dir, `a${k}.npy`), encodeNpy(data, shape));
      });
      const script = [
        "import numpy as np, io, sys, os",
        "d = sys.argv[1]",
        `shapes = ${JSON.stringify(shapes).replace(/\[\]/g, "()")}`,
        "for k, s in enumerate(shapes):",
        "    s = tuple(s)",
        "    p = os.path.join(d, f'a{k}.npy')",
        "    a = np.load(p)",
        "    n = int(np.prod(s))",
        "    want = ((np.arange(n, dtype=np.float64) - n / 2) * 0.37).astype(np.float32).reshape(s)",
        "    assert a.dtype == np.float32 and a.shape == s, (a.dtype, a.shape, s)",
        "    assert np.array_equal(a, want), k",
        "    b = io.BytesIO(); np.save(b, want)",
        "    assert b.getvalue() == open(p, 'rb').read(), ('bytes differ', s)",
        "print('ok', len(shapes))",
      ].join("\n");
      const r = spawnSync("python3", ["-c", script, dir], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe(`ok ${shapes.length}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
