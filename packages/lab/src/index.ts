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
export { QUEUEING_ERROR_CODES, QueueingError, type QueueingErrorCode } from './queueing/queueing-error.js';
export { loadQueueingConfig, parseQueueingConfig, type QueueingConfig } from './queueing/queueing-config.js';
export { runQueueingExperiment, type QueueingEvent, type QueueingRecord, type QueueingRunOptions } from './queueing/run-queueing.js';
export { writeQueueingReport } from './queueing/queueing-report.js';
export { analyseCapture, type CaptureAnalysis } from './queueing/capture-analysis.js';
export { startLoopbackCapture } from './queueing/loopback-capture.js';
export { mg1Waiting, utilisation, saturationRate } from './queueing/mg1.js';
export { batchMeans } from './queueing/batch-means.js';
