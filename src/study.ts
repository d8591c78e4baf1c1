/**
 * distilbert-ts/study: what `inspect --html` and `probe` compute, for scripts and pages. Runtime-agnostic (data and
 * self-contained HTML strings; writing a file is the caller's), and a separate entry so the core bundle stays small.
 *
 *   import { studyInput, renderStudyReport, runProbe } from "distilbert-ts/study";
 */
export * from "./analysis/index.js";
export * from "./report/index.js";
