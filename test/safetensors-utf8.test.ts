/** The plain-JS UTF-8 decoder (for hosts without TextDecoder) agrees with TextDecoder's fatal mode everywhere. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeUtf8Strict } from "../src/safetensors/utf8.js";

const td = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
function reference(b: Uint8Array): string | "error" {
  try {
    return td.decode(b);
  } catch {
    return "error";
  }
}
function ours(b: Uint8Array): string | "error" {
  try {
    return decodeUtf8Strict(b);
  } catch (e) {
    expect(e).toBeInstanceOf(TypeError);
    return "error";
  }
}

describe("decodeUtf8Strict", () => {
  it("edge sequences: BOM kept, overlongs, surrogates, > U+10FFFF, truncation, stray continuations", () => {
    const cases = [
      [],
      [0xef, 0xbb, 0xbf, 0x7b, 0x7d],
      [0xc0, 0x80],
      [0xc1, 0xbf],
      [0xc2, 0x80],
      [0xdf, 0xbf],
      [0xe0, 0x9f, 0xbf],
      [0xe0, 0xa0, 0x80],
      [0xed, 0x9f, 0xbf],
      [0xed, 0xa0, 0x80],
      [0xed, 0xbf, 0xbf],
      [0xee, 0x80, 0x80],
      [0xef, 0xbf, 0xbf],
      [0xf0, 0x8f, 0xbf, 0xbf],
      [0xf0, 0x90, 0x80, 0x80],
      [0xf4, 0x8f, 0xbf, 0xbf],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf5, 0x80, 0x80, 0x80],
      [0xff],
      [0x80],
      [0x61, 0xe2, 0x82],
      [0xe2, 0x82, 0x61],
      [0xf0, 0x9f, 0x8e],
      [0xf0, 0x9f, 0x8e, 0x89, 0x00],
    ];
    for (const c of cases) expect(ours(Uint8Array.from(c)), JSON.stringify(c)).toEqual(reference(Uint8Array.from(c)));
  });

  it("long text crosses the chunk boundary (every code point class, astral pairs split at the edge)", () => {
    const s = "a€😀é中".repeat(5000);
    expect(decodeUtf8Strict(new TextEncoder().encode(s))).toBe(s);
  });

  it("random bytes and random valid strings: same result or same refusal as TextDecoder", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        expect(ours(b)).toEqual(reference(b));
      }),
      { numRuns: 3000, seed: 6 },
    );
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 64 }), (s) => {
        const b = new TextEncoder().encode(s);
        expect(ours(b)).toEqual(reference(b));
      }),
      { numRuns: 2000, seed: 7 },
    );
    // Valid text with one byte replaced: mostly almost-valid sequences, where decoders tend to disagree.
    fc.assert(
      fc.property(fc.string({ unit: "binary", minLength: 1, maxLength: 32 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (s, at, v) => {
        const b = new TextEncoder().encode(s);
        b[at % b.length] = v;
        expect(ours(b)).toEqual(reference(b));
      }),
      { numRuns: 3000, seed: 8 },
    );
  });
});
