export * from './constants.js';
export { errnoName, errnoText, SyscallError } from './errors.js';
export * from './files.js';
export { type FlagTable, renderEnum, renderFlags } from './flags.js';
export * from './libc.js';
export * from './status.js';
export * from './trace.js';
