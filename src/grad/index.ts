/** The gradient pass: reverse-mode kernels, the encoder's backward, heads, and the engine that runs them. */
export { GradientEngine, type GradientInput, type GradientOptions, type GradientResult, type LabelRef, type Objective, type RawGradients } from "./engine.js";
export { gradHead, sequenceClassificationHead, type GradHead, type HeadContext } from "./heads.js";
export { backendOps, f64Ops, type GradOps } from "./ops.js";
export type { GradProbe } from "./encoder.js";
