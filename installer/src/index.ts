export { run, runProgram } from './cli.js';
export { createProgram, VERSION } from './program.js';
export { EXIT, EXIT_CODES_HELP, type ErrorDocument, errorDocument } from './exit.js';
export { type Io, processIo } from './io.js';
