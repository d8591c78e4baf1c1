// The size of the `inspect --html` page at a given length, with DistilBERT-base's attention layout (6 layers × 12
// heads: the embedded attention weights grow as layers × heads × T², whatever the width). Weights are random and
// narrow (dim 96): the page's size does not depend on them, only the time to compute it.
//   npm run build && node bench/report-size.mjs [T=226]
import { loadModel } from "../dist/index.js";
import { randomModel } from "../dist/tools.js";
import { studyInput, renderStudyReport } from "../dist/study.js";

const T = Number(process.argv[2] ?? 226);
const m = randomModel({ vocabSize: 400, dim: 96, nLayers: 6, nHeads: 12, hiddenDim: 192, maxPositionEmbeddings: 512, seed: 5 });
const model = await loadModel({ config: m.config, vocab: m.vocab, weights: m.weights, backend: "js" });
const ids = [model.tokenizer.clsId, ...Array.from({ length: T - 2 }, (_, i) => 200 + (i % 150)), model.tokenizer.sepId];
const tokens = ids.map((id) => model.tokenizer.idToToken(id) ?? "[?]");
const study = studyInput(model, { ids, tokens }, {});
const html = renderStudyReport(study, { generator: "bench/report-size" });
const bytes = new TextEncoder().encode(html).length;
console.log(`T=${T}, 6 layers × 12 heads: ${bytes} bytes (${(bytes / 1e6).toFixed(2)} MB)`);
if (process.argv[3]) (await import("node:fs")).writeFileSync(process.argv[3], html);
