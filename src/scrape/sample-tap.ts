// The contract between a target's pipeline and a consumer of its decoded sample values (the
// edge-derived container series, src/derive/). The pipeline asks the tap once per series, on its
// cache miss, whether it wants the series; from then on every sample of a wanted series costs the
// tap one call with a slot number, the value and the timestamp — no labels are decoded again.
//
// Lifetime: a slot stays valid for as long as the pipeline's cache keeps the series. The cache
// forgets a series that a good scrape did not contain, and one first met in a failed scrape; the
// tap must then forget the slot too (`end` says which scrape ended how, and the tap knows which
// slots it saw), and may reuse its number for a later series.
export interface SampleTap {
  /**
   * On a cache miss: the series' final labels (after relabeling, `__name__` included). Return a
   * slot (>= 0) to receive its samples, or -1. The map must not be kept.
   */
  slot(labels: ReadonlyMap<string, string>): number;
  /** A sample of a slotted series: value, and its timestamp in ms (the target's own, if it sent one). */
  observe(slot: number, value: number, tsMs: number): void;
  /**
   * The series is in this scrape but its sample is not used: another raw series of the target has
   * the same final labels and was sent instead (as the store would keep only one).
   */
  touch(slot: number): void;
  /** The scrape ended; `good` false when it failed (then none of its samples count). */
  end(good: boolean, scrapeTimeMs: number): void;
  /** The target is gone (removed by a reload): forget everything. */
  close(): void;
}

/** Makes the tap of a target, or none: one per target, so that state never mixes targets. */
export type TapFactory = (target: { url: string; job: string }) => SampleTap | undefined;
