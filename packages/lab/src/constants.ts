/**
 * @switchboard/lab/constants: the lab's error codes, for the `switchboard` command's registry,
 * without loading the lab itself (its experiment runner and report charts), so that
 * `switchboard serve` and its workers do not carry the lab's code.
 */
export { EXPERIMENT_ERROR_CODES } from './experiment/experiment-error.js';
export { REPORT_ERROR_CODES } from './report/report-error.js';
