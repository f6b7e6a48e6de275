/** @switchboard/lab: experiments over the proxy's architectures, and their reports. */
export { EXPERIMENT_ERROR_CODES, ExperimentError, parseExperimentConfig, type ExperimentConfig, type ExperimentErrorCode, type PublishedFigure } from './experiment/experiment-config.js';
export { experimentPoints, pointKey } from './experiment/experiment-matrix.js';
export { EXPERIMENT_RECORD_SCHEMA, type ExperimentPoint, type ExperimentRecord } from './experiment/experiment-record.js';
export { freeLoopbackPort } from './experiment/proxy-under-test.js';
export { estimateDuration, type DurationEstimate } from './experiment/duration-estimate.js';
export { loadExperimentConfig, runExperiment, type ExperimentEvent, type ExperimentRunOptions } from './experiment/run-experiment.js';
export { REPORT_ERROR_CODES, ReportError, type ReportErrorCode } from './report/report-error.js';
export { loadReportData, median, type PointSummary, type Ratio, type ReportData } from './report/report-data.js';
export { writeReport, type WrittenReport } from './report/write-report.js';
export { verdictSummary, type EarlierVerdict } from './report/verdict-summary.js';
