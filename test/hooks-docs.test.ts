/**
 * docs/activations.md's table is activationTable() written out: this test regenerates it and fails on any
 * difference, so the docs cannot drift from the code. `UPDATE_DOCS=1 npx vitest run test/hooks-docs.test.ts`
 * rewrites the table in place.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { activationTable, type ActivationInfo } from "../src/model/activations.js";
import { parseConfig } from "../src/model/config.js";
import { repoRoot } from "./helpers/shared.js";

const DOC = join(repoRoot, "docs/activations.md");
const BEGIN = "<!-- activation-table:begin (generated from activationTable(); test/hooks-docs.test.ts checks it) -->";
const END = "<!-- activation-table:end -->";

function generic(a: ActivationInfo, layer: number): ActivationInfo {
  return {
    ...a,
    name: a.name.replace(`layer.${layer}.`, "layer.{i}."),
    hfPath: a.hfPath.replace(`.layer.${layer}.`, ".layer.{i}."),
  };
}

function renderTable(): string {
  const config = parseConfig({ n_layers: 3, n_heads: 2, dim: 8, hidden_dim: 16, vocab_size: 10, max_position_embeddings: 8, id2label: { 0: "NEGATIVE", 1: "POSITIVE" } });
  const table = activationTable(config);
  // Every layer's rows must be layer 0's with the index changed; the doc shows them once, as layer.{i}.
  const perLayer = (l: number) => table.filter((a) => a.name.startsWith(`layer.${l}.`)).map((a) => generic(a, l));
  for (let l = 1; l < config.nLayers; l++) expect(perLayer(l)).toEqual(perLayer(0));
  const rows = [...table.filter((a) => !a.name.startsWith("layer.")).slice(0, 3), ...perLayer(0), ...table.filter((a) => a.name.startsWith("head."))];
  expect(rows.length).toBe(3 + 12 + 3);
  const cell = (s: string) => s.replace(/\|/g, "\\|");
  return [
    "| name | shape | Hugging Face module (path in `DistilBertForSequenceClassification`) | what it is |",
    "|---|---|---|---|",
    ...rows.map((a) => `| \`${a.name}\` | \`[${a.shape.join(", ")}]\` | \`${cell(a.hfPath)}\` | ${cell(a.description)} |`),
  ].join("\n");
}

describe("docs/activations.md", () => {
  it("holds exactly the table activationTable() produces", () => {
    const doc = readFileSync(DOC, "utf8");
    const start = doc.indexOf(BEGIN);
    const end = doc.indexOf(END);
    expect(start, "begin marker").toBeGreaterThanOrEqual(0);
    expect(end, "end marker").toBeGreaterThan(start);
    const want = renderTable();
    const got = doc.slice(start + BEGIN.length, end).trim();
    if (got !== want && process.env.UPDATE_DOCS) {
      writeFileSync(DOC, `${doc.slice(0, start + BEGIN.length)}\n${want}\n${doc.slice(end)}`);
      return;
    }
    expect(got).toBe(want);
  });
});
