// The node's series budget (`[global] series_limit`, issue 21): over it, whole metric families are
// not sent, the largest of those no shipped dashboard or alert reads first; a target's `up` and
// its synthetic series, and every family the kit reads, never. The manager plans after scrapes (at
// most every 30 s) from what the targets delivered; a target's pipeline drops a planned family on
// its next cache miss (series-labels.ts) and evicts what it had sent of it, with staleness markers,
// before its next scrape. Once the node would be under 90 % of the limit with them, they come back.
import { KIT_READERS } from './kit-readers.js';

/** The group a budget-dropped cache entry gets, so re-admitting the family rebuilds it. */
export const BUDGET_GROUP = 'budget:';

const NEVER = /^(up|scrape_.*)$/;

export interface BudgetPlan {
  /** Families to stop sending now, with their series. */
  drop: Array<[string, number]>;
  /** Families to send again. */
  admit: string[];
}

export class SeriesBudget {
  /** Families not sent, and the series they had when dropped. */
  readonly dropped = new Map<string, number>();
  /** Series builds dropped for the budget (counted on a cache miss). */
  droppedBuilds = 0;
  /** The kit's own families alone are over the limit: nothing more can be dropped. */
  overByKit = false;

  constructor(public limit: number) {}

  /** Whether family `name` is not sent now (a cache miss asks; counted). */
  drops(name: string): boolean {
    const d = this.dropped.has(name);
    if (d) this.droppedBuilds++;
    return d;
  }

  /** Series of the dropped families when they were dropped. */
  get droppedSeries(): number {
    let n = 0;
    for (const s of this.dropped.values()) n += s;
    return n;
  }

  /**
   * What to change, given what the node's targets deliver now (family -> series, the dropped
   * families absent from it). Applies the plan to `dropped`.
   */
  plan(delivered: ReadonlyMap<string, number>): BudgetPlan {
    // a dropped family may still be delivered until its targets scrape again: not counted twice
    let total = 0;
    for (const [f, n] of delivered) if (!this.dropped.has(f)) total += n;
    const out: BudgetPlan = { drop: [], admit: [] };
    if (this.limit <= 0) {
      out.admit = [...this.dropped.keys()];
      this.dropped.clear();
      this.overByKit = false;
      return out;
    }
    if (total > this.limit) {
      const candidates = [...delivered]
        .filter(([f]) => !NEVER.test(f) && KIT_READERS[f] === undefined && !this.dropped.has(f))
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
      for (const [f, n] of candidates) {
        if (total <= this.limit) break;
        out.drop.push([f, n]);
        this.dropped.set(f, n);
        total -= n;
      }
      this.overByKit = total > this.limit;
    } else if (this.dropped.size > 0 && total + this.droppedSeries <= 0.9 * this.limit) {
      out.admit = [...this.dropped.keys()];
      this.dropped.clear();
      this.overByKit = false;
    }
    return out;
  }
}
