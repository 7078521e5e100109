// The named points where a feature plugs into a target's series, so that a new one (pod labels,
// the derive tap, later container lifecycle or a cardinality budget) is one implementation of an
// interface here instead of a column of the series cache and a branch in the hot loop.
//
//   enricher   on a cache miss, before relabeling: labels the series gains, and the group it
//              belongs to (the pod). Before each scrape the pipeline asks which groups changed and
//              evicts their entries: the scrape rebuilds them with the new labels, and the old
//              label sets get staleness markers. Costs nothing on a cache hit.
//   tap        on a cache miss, after relabeling: whether it wants the series (a slot); then one
//              call per sample of a slotted series, and the scrape's end (sample-tap.ts).
//
// What is not a plug-in: deduplication of series whose final labels are equal. That is the cache's
// own invariant (a store keeps one value per series and time; SeriesCache.claim), not a feature.
import type { SampleTap } from './sample-tap.js';

export interface SeriesEnricher {
  /**
   * A new series' label map (before relabeling): add the labels it gains (only where absent), and
   * return its group key, interned (entries share the string), or undefined for none.
   */
  enrich(labels: Map<string, string>): string | undefined;
  /**
   * After `enrich`: true = do not send this series (a dead container's). It stays in the cache,
   * dropped, in its group: the group's next change builds it again.
   */
  dropped?(labels: Map<string, string>): boolean;
  /** Before a scrape: the groups whose labels changed since the last call (undefined: none). */
  changed(): Set<string> | undefined;
}

/** The plug-ins of one target's pipeline (each optional; one of each). */
export interface PipelinePlugins {
  enricher?: SeriesEnricher;
  tap?: SampleTap;
  /** The node's series budget (budget.ts): on a cache miss, whether the family is not sent now. */
  budget?: { drops(name: string): boolean };
}
