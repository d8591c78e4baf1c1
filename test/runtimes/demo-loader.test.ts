/** The demo's byte loader: streams into one preallocated array, reports progress, refuses wrong lengths. */
import { describe, expect, it } from "vitest";
import { fileBytes, pickModelFiles, readStreamInto } from "../../demo/loader.js";

function chunked(bytes: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  let at = 0;
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      const n = sizes[i++ % sizes.length];
      controller.enqueue(bytes.slice(at, at + n));
      at += n;
    },
  });
}

const data = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7919) & 255);

describe("demo loader", () => {
  it("fills one array of the announced size, chunk by chunk, with monotone progress", async () => {
    const seen: number[] = [];
    const out = await readStreamInto(chunked(data, [1, 999, 4096, 3]), data.length, (loaded, total) => {
      expect(total).toBe(data.length);
      seen.push(loaded);
    });
    expect(out).toEqual(data);
    expect(out.buffer.byteLength).toBe(data.length); // the one allocation, not a grown or concatenated copy
    expect(seen.at(-1)).toBe(data.length);
    expect(seen.every((v, i) => i === 0 || v > seen[i - 1])).toBe(true);
  });

  it("refuses a body longer or shorter than announced", async () => {
    await expect(readStreamInto(chunked(data, [4096]), data.length - 1, undefined, "w.bin")).rejects.toThrow(/w\.bin: more than the announced 9999 bytes/);
    await expect(readStreamInto(chunked(data, [4096]), data.length + 1, undefined, "w.bin")).rejects.toThrow(/w\.bin: 10000 of the announced 10001 bytes/);
  });

  it("without a length, grows and returns exactly the bytes", async () => {
    const big = Uint8Array.from({ length: 3_000_000 }, (_, i) => i & 255);
    const out = await readStreamInto(chunked(big, [65536, 12345]), null);
    expect(out.length).toBe(big.length);
    expect(Buffer.compare(out, big)).toBe(0); // toEqual on 3 MB of typed array takes seconds
  });

  it("reads a File (Blob) through its stream", async () => {
    const file = new File([data], "model.safetensors");
    const out = await fileBytes(file);
    expect(out).toEqual(data);
  });

  it("picks config, vocab and weights from a folder listing; says what is missing", () => {
    const f = (path: string) => ({ path, file: path });
    const picked = pickModelFiles([f("m/config.json"), f("m/vocab.txt"), f("m/model.safetensors"), f("m/ckpt/model.safetensors"), f("m/README.md")]);
    expect(picked).toEqual({ config: "m/config.json", vocab: "m/vocab.txt", tokenizer: null, weights: "m/model.safetensors", missing: [] });
    expect(pickModelFiles([f("x/config.json"), f("x/tokenizer.json"), f("x/weights.safetensors")]).weights).toBe("x/weights.safetensors");
    expect(pickModelFiles([f("config.json")]).missing).toEqual(["vocab.txt or tokenizer.json", "model.safetensors"]);
  });
});
