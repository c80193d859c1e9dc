/** Names the part of the runtime that asks for each traced call (CTR_TRACE), host and init alike. */
import { asking } from '@ctr/syscalls';
import { type AnyFeature, stepOf } from './feature.js';

/** Runs a hook of `feature`, named as such in the trace: `04 cgroups.create`. */
export const asHook = <T>(feature: AnyFeature, hook: string, fn: () => T): T =>
  asking({ step: stepOf(feature), feature: feature.name, hook }, fn);

/** The runtime's own part, named in the trace as `runtime.<what>`. */
export const asRuntime = <T>(what: string, fn: () => T): T =>
  asking({ step: '--', feature: 'runtime', hook: what }, fn);
