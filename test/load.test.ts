/**
 * Load: 1,000 concurrent classify calls give exactly the sequential results, in order, in every backend of
 * test/helpers/backends.ts (a backend with a worker pool adds itself there and runs these tests too). Also two
 * models serving interleaved calls, and batched calls racing each other, so that no state leaks between calls or
 * between instances. The long-running RSS soak is bench/soak.mjs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Classification, DistilBertClassifier } from "../src/model/classifier.js";
import { backendCases } from "./helpers/backends.js";
import { loadTiny } from "./helpers/fixture.js";
import { rng } from "./helpers/random.js";
import { requireShared } from "./helpers/shared.js";

const N = 1000;

/** The SST-2 dev sentences, then hostile extras (empty, long enough to truncate, odd Unicode) up to N texts. */
function texts(): string[] {
  const rows = readFileSync(join(requireShared(), "data/sst2-dev.tsv"), "utf8").split("\n").slice(1).filter((l) => l.length > 0);
  const out = rows.map((l) => l.split("\t")[0]);
  const r = rng(99);
  const extras = ["", " ", "\u0000", "😀".repeat(50), "\u202egood film", "a\u0301".repeat(30), "[CLS] [SEP] [UNK]"];
  while (out.length < N) {
    const i = out.length;
    out.push(i % 3 === 0 ? extras[i % extras.length] : out[Math.floor(r() * rows.length)].repeat(1 + (i % 4)));
  }
  return out.slice(0, N);
}

for (const bc of backendCases) {
  describe(`${N} concurrent classify calls, ${bc.name} backend`, () => {
    let model: DistilBertClassifier;
    let inputs: string[];
    let sequential: Classification[];

    beforeAll(async () => {
      model = await loadTiny(await bc.create());
      inputs = texts();
      sequential = [];
      for (const t of inputs) sequential.push(await model.classify(t));
      expect(sequential.some((c) => c.truncated)).toBe(true);
    });

    it("Promise.all of one call per text equals the sequential results, in order", async () => {
      const concurrent = await Promise.all(inputs.map((t) => model.classify(t)));
      expect(concurrent).toHaveLength(N);
      expect(concurrent).toEqual(sequential);
      console.log(`load (${bc.name}): ${N} concurrent classify calls identical to sequential`);
    });

    it("batched calls racing each other (10 × 100 texts) give the same results", async () => {
      const chunks = Array.from({ length: 10 }, (_, k) => inputs.slice(k * 100, (k + 1) * 100));
      const raced = (await Promise.all(chunks.map((c) => model.classify(c)))).flat();
      expect(raced).toEqual(sequential);
    });

    it("two model instances serving interleaved calls do not affect each other", async () => {
      const other = await loadTiny(await bc.create());
      const some = inputs.slice(0, 250);
      const both = await Promise.all(some.flatMap((t) => [model.classify(t), other.classify(t)]));
      expect(both.filter((_, i) => i % 2 === 0)).toEqual(sequential.slice(0, 250));
      expect(both.filter((_, i) => i % 2 === 1)).toEqual(sequential.slice(0, 250));
    });
  });
}
