/**
 * docs/activations.md's table is activationTable() written out: this test regenerates it and fails on any
 * difference, so the docs cannot drift from the code. `UPDATE_DOCS=1 npx vitest run test/hooks-docs.test.ts`
 * rewrites the table in place.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { activationTable, type ActivationInfo } from "../src/model/activations.js";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { parseConfig } from "../src/model/config.js";
import { loadModelFromDir } from "../src/node/model-dir.js";
import { JsBackend } from "../src/tensor/js-backend.js";
import { headsDir } from "./helpers/heads.js";
import { repoRoot } from "./helpers/shared.js";

const DOC = join(repoRoot, "docs/activations.md");
const BEGIN = "<!-- activation-table:begin (generated from activationTable(); test/hooks-docs.test.ts checks it) -->";
const END = "<!-- activation-table:end -->";
const HEADS_BEGIN = "<!-- head-table:begin (generated from each head's activations(); test/hooks-docs.test.ts checks it) -->";
const HEADS_END = "<!-- head-table:end -->";

const ARCHITECTURES = ["DistilBertForSequenceClassification", "DistilBertForMaskedLM", "DistilBertForQuestionAnswering", "DistilBertForTokenClassification"];

/** Every head's own names; the sentence-transformers rows from the embed fixture (mean Pooling → Dense → Normalize). */
function renderHeadTable(embed: DistilBertClassifier): string {
  const rows: [string, ActivationInfo][] = [];
  for (const architecture of ARCHITECTURES) {
    const config = parseConfig({ architectures: [architecture], n_layers: 1, n_heads: 2, dim: 8, hidden_dim: 16, vocab_size: 10, max_position_embeddings: 8 });
    for (const a of activationTable(config).filter((x) => x.name.startsWith("head."))) rows.push([`\`${architecture}\``, a]);
  }
  for (const a of activationTable(embed.config, embed.model).filter((x) => x.name.startsWith("head."))) rows.push(["`DistilBertModel` + sentence-transformers modules", a]);
  const cell = (s: string) => s.replace(/\|/g, "\\|");
  return [
    "| head | name | shape | module | what it is |",
    "|---|---|---|---|---|",
    ...rows.map(([h, a]) => `| ${h} | \`${a.name}\` | \`[${a.shape.join(", ")}]\` | \`${cell(a.hfPath)}\` | ${cell(a.description)} |`),
  ].join("\n");
}

function checkSection(doc: string, begin: string, end: string, want: string): string {
  const start = doc.indexOf(begin);
  const stop = doc.indexOf(end);
  expect(start, "begin marker").toBeGreaterThanOrEqual(0);
  expect(stop, "end marker").toBeGreaterThan(start);
  const got = doc.slice(start + begin.length, stop).trim();
  if (got !== want && process.env.UPDATE_DOCS) return `${doc.slice(0, start + begin.length)}\n${want}\n${doc.slice(stop)}`;
  expect(got).toBe(want);
  return doc;
}

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
  it("holds exactly the tables activationTable() and the heads produce", async () => {
    const embed = await loadModelFromDir(join(headsDir(), "embed"), { backend: new JsBackend() });
    const doc = readFileSync(DOC, "utf8");
    const next = checkSection(checkSection(doc, BEGIN, END, renderTable()), HEADS_BEGIN, HEADS_END, renderHeadTable(embed));
    if (next !== doc) writeFileSync(DOC, next);
  });
});
