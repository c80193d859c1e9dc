export * from './constants.js';
export { errnoName, SyscallError } from './errors.js';
export { type FlagTable, renderEnum, renderFlags } from './flags.js';
export * from './libc.js';
export * from './status.js';
