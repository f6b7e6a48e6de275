export { main, createProgram } from './main.js';
export { SWITCHBOARD_ERROR_CODES, SwitchboardError, type SwitchboardErrorCode } from './errors.js';
export { resolveServeSettings, parseListen, type ServeSettings } from './serve-options.js';
export { SERVE_OPTIONS, renderConfigurationDoc } from './serve-schema.js';
