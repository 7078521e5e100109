// Series a target's cache forgets between scrapes, and the staleness markers they are owed: the
// entries of pods whose metadata or container lifecycle changed (the enricher's groups,
// pod-labels.ts) and of families the series budget drops or admits again (budget.ts). The scrape
// after the eviction rebuilds them; the label sets it does not send again get a marker when that
// scrape ends well (or when the target is retired).
import type { EncodedLabels } from '../prompb/encode.js';
import { BUDGET_GROUP } from './budget.js';
import type { SeriesCache } from './series-cache.js';
import { familyNamer } from './series-census.js';

export class Evictions {
  private labels: EncodedLabels[] = [];
  /** The last explicit timestamp each evicted series was sent with (-Infinity: none). */
  private lastTs: number[] = [];
  /** Budget changes waiting for the next scrape: families to drop, and groups to admit. */
  private drop = new Set<string>();
  private admit = new Set<string>();

  constructor(private readonly cache: SeriesCache) {}

  /** The series budget changed its plan (applied before the next scrape); true when it admits some. */
  budgetChanged(drop: Iterable<string>, admit: Iterable<string>): boolean {
    for (const f of drop) this.drop.add(f);
    let admitted = false;
    for (const f of admit) {
      this.drop.delete(f);
      this.admit.add(BUDGET_GROUP + f);
      admitted = true;
    }
    return admitted;
  }

  /** Before a scrape: evict the budget's families and groups, and the enricher's changed groups. */
  beforeScrape(changedGroups: ReadonlySet<string> | undefined): void {
    const record = (id: number) => {
      this.labels.push(this.cache.labelsOf(id)!);
      this.lastTs.push(this.cache.lastTs[id]!);
    };
    if (this.drop.size > 0) {
      const drop = this.drop;
      const name = familyNamer(this.cache);
      this.cache.evictWhere((id) => drop.has(name(id)), record);
    }
    if (this.admit.size > 0) this.cache.evictGroups(this.admit, record);
    this.drop = new Set();
    this.admit = new Set();
    if (changedGroups !== undefined) this.cache.evictGroups(changedGroups, record);
  }

  /**
   * Markers for the evicted label sets the cache does not hold again, each stamped after its last
   * sample (`after`), also when that sample's explicit (cAdvisor) timestamp is ahead of our clock:
   * a store refuses an out-of-order marker. Safe because such a label set belongs to a gone
   * container, an old pod label or a dropped family, which does not come back with an older
   * timestamp. Called after a good scrape only: after a failed one they wait (a marker stamped now,
   * for labels that come back with an older timestamp, would make that sample out of order), or
   * when the target is retired.
   */
  markers(write: (labels: EncodedLabels, after: number) => void): void {
    for (let i = 0; i < this.labels.length; i++) {
      const labels = this.labels[i]!;
      if (!this.cache.holds(labels)) write(labels, this.lastTs[i]! + 1);
    }
    this.labels = [];
    this.lastTs = [];
  }
}
