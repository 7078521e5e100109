// `[derive] enable = true`: the derived container values as ordinary series, through an internal
// target (job "nodegraf-derive") that renders them from the hub at each of its scrapes. Every sample
// carries the timestamp of the cAdvisor samples it comes from, so a value is sent once (the
// pipeline skips timestamps that did not advance) and lines up with the PromQL recipe.
import type { GlobalConfig } from '../config/types.js';
import { internalTarget, type InternalTarget } from '../scrape/manager.js';
import type { DeriveHub } from './hub.js';

export const DERIVE_JOB = 'nodegraf-derive';
export const DERIVE_URL = 'nodegraf://derive/containers';

export function deriveTarget(hub: DeriveHub, global: GlobalConfig): InternalTarget {
  return internalTarget('derive', DERIVE_URL, DERIVE_JOB, global, {
    tokenExpiry: NaN,
    async stream(start) {
      start('text')(Buffer.from(hub.render()));
    },
    abort() {},
    async close() {},
  });
}
