export { createProgram, run, VERSION } from './cli.js';
export { EXIT, EXIT_CODES_HELP, type ErrorDocument, errorDocument } from './exit.js';
export { type Io, processIo } from './io.js';
