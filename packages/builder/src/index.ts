export * from './keys.js';
export * from './paths.js';
