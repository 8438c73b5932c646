export * from './buildinfo.js';
export * from './errors.js';
export * from './events.js';
export * from './hash.js';
export * from './level.js';
export * from './manifest.js';
export * from './state.js';
export * from './trust.js';
