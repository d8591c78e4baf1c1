/** HTML pages (self-contained strings) for the study tools; no Node, no DOM, so any runtime can write them. */
export { renderStudyReport, type StudyReportOptions } from "./study-report.js";
export { renderProbeReport, type ProbeReportOptions } from "./probe-report.js";
export { renderMaskProbeReport, type MaskProbeReportOptions } from "./mask-probe-report.js";
export { renderAttributionReport, renderPatchReport, attributionSection, type AttributionPageOptions } from "./attribution-report.js";
