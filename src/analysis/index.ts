/** Tools for studying the model, runtime-agnostic (the CLI and a browser page share them). */
export { parseHeadMaskText, formatHeadMask } from "./head-mask.js";
export { studyInput, logitLens, occlusion, type Study, type StudyOptions, type LensRow, type OcclusionRow } from "./study.js";
export { maskedLmLens, makeReader, type Readout, type ReadoutKind, type ReadoutOptions, type Reader, type LensTop } from "./readout.js";
export {
  runProbe, probeStats, probeCsv, fillTemplate, checkTemplate, parseValueList, defaultProbeLabel, matchLabel, PLACEHOLDER,
  type ProbeResult, type ProbeRow, type ProbeStats,
} from "./probe.js";
export {
  runMaskProbe, maskProbeCsv, type MaskProbeResult, type MaskProbeRow, type MaskProbeTarget, type MaskCandidate, type MaskProbeOptions,
} from "./mask-probe.js";
export { COUNTRIES, VALUE_SETS } from "./countries.js";
export {
  attribute, rollout, baselineEmbeddings, gaussLegendre01, ATTRIBUTION_METHODS,
  type Attribution, type AttributionMethod, type AttributionOptions, type Baseline, type IgRule,
} from "./attribution.js";
export { activationPatching, type PatchBy, type PatchMetric, type PatchOptions, type PatchResult } from "./patching.js";
