/**
 * distilbert-ts/tools: what tests, benchmarks and kernel work use beside the engine, kept out of the main entry (and
 * so out of the browser bundle): the naive reference backend (the oracle the kernels are tested against), seeded
 * random models of any shape, and the safetensors writer.
 *
 *   import { randomModel, naiveBackend } from "distilbert-ts/tools";
 */
export { naiveBackend } from "./tensor/naive.js";
export { mulberry32, randomModel, type RandomModel, type RandomModelSpec } from "./model/random-model.js";
export { writeSafetensors, type WriteTensor } from "./safetensors/index.js";
