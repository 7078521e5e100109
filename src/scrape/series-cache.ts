// The series cache of one target, after Prometheus's scrapeCache (scrape/scrape.go): what each raw
// series text of the target turned into, so that a series seen before costs a hash and a Map lookup
// instead of label parsing, filtering, relabeling, sorting and encoding; and which series the last
// good scrape delivered, so that the ones that go away get one staleness marker.
//
// Contract (one scrape at a time, all calls from the target's own scrape):
//   begin()                    a scrape starts; returns its sequence number
//   get(lo, hi, length)        the entry of a raw series text, by the 64-bit hash and length the
//                              parser computed, or undefined (hot path: no allocation, no string)
//   getCollided(text)          the entry of a text whose low hash bits another series holds
//   add(lo, hi, length, ...)   cache what a miss built (see series-labels.ts); the entry is new
//   entry.lastSeen === seq     the scrape already met this series (a duplicate line); the caller
//                              sets lastSeen = seq when it uses an entry
//   claim(entry, seq)          for an entry whose final labels another raw series shares
//                              (`entry.shared`, e.g. after ignore_label_keys): true for the first of
//                              them met in this scrape, which alone is sent
//   endGood(onStale)           the scrape was delivered: every series the previous good scrape
//                              delivered and this one did not gets onStale (once), and is forgotten
//   endFailed(onStale)         the scrape failed and nothing of it was sent: every series the last
//                              good scrape delivered gets onStale; series first met in the failed
//                              scrape get none (they were never sent) and are forgotten
//   evict(pred, onStale)       forget the entries `pred` selects (their inputs changed: the
//                              enricher's group, see plugins.ts); delivered ones get onStale, and
//                              the next scrape rebuilds them as new series
// The plug-ins of plugins.ts each own one field of an entry, set on the miss: `group` (enricher)
// and `slot` (tap).
// Entries own their encoded labels (a one-byte string, see prompb/encode.ts) for as long as they
// are cached; onStale receives them synchronously and must not keep them past the call.
import type { EncodedLabels } from '../prompb/encode.js';

export class CacheEntry {
  /** Sequence number of the last scrape that met this series (0: never). */
  lastSeen = 0;
  /** Whether the last good scrape delivered it (it gets a staleness marker when it goes away). */
  delivered = false;
  /**
   * Last explicit timestamp delivered (ms), to skip samples whose timestamp did not advance, and
   * the one of the scrape in progress, which counts only once that scrape is delivered.
   */
  lastTs = -Infinity;
  scrapeTs = -Infinity;
  /** Another raw series of the target has the same final labels: see SeriesCache.claim. */
  shared = false;
  /** The scrape in which this entry won the claim on its shared labels. */
  wonSeq = 0;
  /** The enricher's group of this series (interned; the pod `namespace/name`): see evict. */
  group: string | undefined = undefined;
  /** Slot of the pipeline's tap for this series, -1 when the tap does not want it. */
  slot = -1;
  /** High 32 bits of the series text's hash and its length: confirm that a hit is this series. */
  hashHi = 0;
  textLength = 0;

  constructor(
    /** Encoded final labels, or null when the series is dropped by filters/relabeling or invalid. */
    readonly labels: EncodedLabels | null,
    /** Parse error of the series text, counted on every scrape that contains it. */
    readonly error?: string,
    /** A label limit this series breaks: fails every scrape that contains it. */
    readonly limit?: string,
  ) {}
}

export type OnStale = (labels: EncodedLabels) => void;

/**
 * Whether a series that went away gets a staleness marker: only if its samples carried no
 * timestamp of their own. A marker is stamped with the scrape time, which is later than an explicit
 * timestamp (cAdvisor's, the derived series'): a sample of the series that comes back with its own,
 * earlier, time would then be out of order, and a store refuses the whole request. Prometheus does
 * the same (its scrape cache tracks staleness only for series without explicit timestamps).
 */
function marked(e: CacheEntry): boolean {
  return e.lastTs === -Infinity;
}

/** The raw series that share one set of final labels. */
interface Holders {
  count: number;
  /** The scrape in which one of them was sent (a store refuses two values of one series at once). */
  claimed: number;
  first: CacheEntry;
}

export class SeriesCache {
  /** Series by the low 32 bits of their text's hash (the entry holds the high 32 bits and the length). */
  private readonly byHash = new Map<number, CacheEntry>();
  /**
   * Series whose low hash bits were already taken by another series (about one in 20k at 10k series
   * per target), by their full text. Searched only when the first map's entry is not the series.
   */
  private readonly collided = new Map<string, CacheEntry>();
  /**
   * Final label sets in use and how many raw series hold each. Two raw series can end up with the
   * same labels (ignore_label_keys, labeldrop, a container restart under a dropped `id`): then each
   * scrape sends the first of them it meets, and the set goes stale only when all are gone.
   */
  // Measured alternative (2026-12-02, 200k generated series, one pipeline): a Map to the first
  // CacheEntry plus Holders records only for shared sets held 131 MB of heap instead of 140 MB, but
  // repeated scrapes were 15 % slower (min 221-234 ms vs 185-204 ms over 4 runs each); not taken.
  private readonly live = new Map<EncodedLabels, Holders>();
  private seq = 0;
  private deliveredCount = 0;
  private labelBytesCount = 0;

  /** Series cached (delivered or not, dropped ones included: their entry says why). */
  get entries(): number {
    return this.byHash.size + this.collided.size;
  }

  /** Bytes of the encoded labels the cache holds (one string per distinct label set). */
  get labelBytes(): number {
    return this.labelBytesCount;
  }

  /** Series the last good scrape delivered (0 after a failed scrape). */
  get series(): number {
    return this.deliveredCount;
  }

  begin(): number {
    return ++this.seq;
  }

  get(lo: number, hi: number, length: number): CacheEntry | undefined {
    const e = this.byHash.get(lo);
    return e !== undefined && e.hashHi === hi && e.textLength === length ? e : undefined;
  }

  /** Only needed when `get` missed although the low bits are taken, or after a collision. */
  getCollided(text: string): CacheEntry | undefined {
    return this.collided.size > 0 ? this.collided.get(text) : undefined;
  }

  /** Whether a collided entry may exist (the caller then makes the text to look it up). */
  get hasCollisions(): boolean {
    return this.collided.size > 0;
  }

  /** Whether the low hash bits are free (a new series goes to the first map). */
  slotFree(lo: number): boolean {
    return !this.byHash.has(lo);
  }

  /** Cache a new entry; `text` is needed only when the slot is taken (see slotFree). */
  add(lo: number, hi: number, length: number, text: string | undefined, entry: CacheEntry): void {
    entry.hashHi = hi;
    entry.textLength = length;
    if (entry.labels !== null) {
      const h = this.live.get(entry.labels);
      if (h === undefined) {
        // the entry is met (and sent) in this very scrape: it holds the claim for it
        this.live.set(entry.labels, { count: 1, claimed: this.seq, first: entry });
        this.labelBytesCount += entry.labels.length;
        entry.wonSeq = this.seq;
      } else {
        h.count++;
        h.first.shared = true;
        entry.shared = true;
      }
    }
    if (text === undefined) this.byHash.set(lo, entry);
    else this.collided.set(text, entry);
  }

  /** A shared entry met in scrape `seq`: true if it is the first with its labels (it is sent). */
  claim(entry: CacheEntry, seq: number): boolean {
    const h = this.live.get(entry.labels!)!;
    if (h.claimed === seq) return false;
    h.claimed = seq;
    entry.wonSeq = seq;
    return true;
  }

  endGood(onStale: OnStale): void {
    const seq = this.seq;
    let delivered = 0;
    this.sweep((e) => {
      if (e.lastSeen === seq) {
        if (e.labels !== null && (!e.shared || e.wonSeq === seq)) {
          e.delivered = true;
          e.lastTs = e.scrapeTs;
          delivered++;
        } else e.delivered = false;
        return true;
      }
      // gone: a marker, unless another series with the same labels was sent in its place
      if (e.delivered && marked(e) && !(e.shared && this.live.get(e.labels!)!.claimed === seq))
        onStale(e.labels!);
      return false;
    });
    this.deliveredCount = delivered;
  }

  endFailed(onStale: OnStale): void {
    this.sweep((e) => {
      if (!e.delivered) return false;
      if (marked(e)) onStale(e.labels!);
      // Kept (labels already encoded) for a quick recovery; forgotten if the next scrape fails too.
      e.delivered = false;
      e.scrapeTs = e.lastTs; // nothing of the failed scrape was sent
      return true;
    });
    this.deliveredCount = 0;
  }

  evict(pred: (e: CacheEntry) => boolean, onStale: OnStale): number {
    let n = 0;
    this.sweep((e) => {
      if (!pred(e)) return true;
      if (e.delivered) {
        // marked even with explicit timestamps: the series' labels change (pod metadata), so the
        // old ones end here, and the new ones are other series
        onStale(e.labels!);
        this.deliveredCount--;
      }
      n++;
      return false;
    });
    return n;
  }

  /** Whether some cached series has these final labels (it will be sent, so no marker for them). */
  holds(labels: EncodedLabels): boolean {
    return this.live.has(labels);
  }

  /** Visit every entry; forget those for which `keep` returns false. */
  private sweep(keep: (e: CacheEntry) => boolean): void {
    const visit = <K>(m: Map<K, CacheEntry>) => {
      for (const [key, e] of m) {
        if (keep(e)) continue;
        if (e.labels !== null) {
          const h = this.live.get(e.labels)!;
          if (--h.count === 0) {
            this.live.delete(e.labels);
            this.labelBytesCount -= e.labels.length;
          }
        }
        m.delete(key);
      }
    };
    visit(this.byHash);
    if (this.collided.size > 0) visit(this.collided);
  }
}
