// Native histograms of one target (protobuf scrapes only, ../parse/protobuf.ts): what each scrape
// sends of them, in both forms, and their staleness.
//
// A chunk of a scrape's native histograms carries two bodies (prompb/chunk.ts): `native`, the
// histograms in remote write's `histograms` field, for writers with `native_histograms = true`;
// and `body`, for every other writer: the same histograms as classic `_bucket`/`_sum`/`_count`
// series, converted from the native buckets (../histogram.ts classicBuckets) — but only for
// histograms that exposed no classic buckets of their own. A histogram with both (what Kubernetes
// components serve) already sent its classic series with the scrape's text lines, to every writer.
//
// Not on the hot path: a kubelet has a few dozen native histograms. Labels are built as a text
// series' are (filters, target labels, enrichment, relabeling: series-labels.ts) and cached by the
// series text; the cache is dropped when the enricher's pod metadata changes.
import { classicBuckets, emptyHistogram } from '../histogram.js';
import type { Chunk } from '../prompb/chunk.js';
import { encodeHistogram, WriteRequestBuilder, type EncodedLabels } from '../prompb/encode.js';
import type { NativeSample } from '../parse/protobuf.js';
import { formatFloat } from '../text-format.js';
import type { Labels } from '../parse/text.js';
import { buildSeries, type LabelRules } from './series-labels.js';

/** A series given by name and labels (not by a parser's current line). */
class GivenSeries {
  constructor(
    readonly name: string,
    readonly given: Labels,
  ) {}
  metricName(): string {
    return this.name;
  }
  labels(out: Labels): string | undefined {
    for (const l of this.given) out.push(l);
    return undefined;
  }
}

const EMPTY_BODY = Buffer.alloc(0);

export class NativeHistograms {
  /** Series text -> final encoded labels (null: dropped by filters or relabeling). */
  private readonly built = new Map<string, EncodedLabels | null>();
  private readonly native = new WriteRequestBuilder(16 * 1024);
  private readonly classic = new WriteRequestBuilder(16 * 1024);
  /** Label sets sent by the last good scrape, and by this one. */
  private lastNative = new Set<EncodedLabels>();
  private lastClassic = new Set<EncodedLabels>();
  private curNative = new Set<EncodedLabels>();
  private curClassic = new Set<EncodedLabels>();
  private readonly scratch: Labels = [];
  /** The timestamp each native series was last sent with. */
  private readonly lastTs = new Map<EncodedLabels, number>();
  /** The scrape's error for a series that cannot be built (a label limit), reported once. */
  limitError = '';

  constructor(private readonly rules: LabelRules) {}

  /** The pod metadata changed: build every series again (pod labels may differ). */
  forget(): void {
    this.built.clear();
  }

  /** A new scrape. */
  begin(): void {
    this.native.reset();
    this.classic.reset();
    this.curNative = new Set();
    this.curClassic = new Set();
    this.limitError = '';
  }

  /** The final labels of a series, built on first sight. */
  private labelsOf(key: string, name: string, labels: Labels): EncodedLabels | null {
    let l = this.built.get(key);
    if (l !== undefined) return l;
    const b = buildSeries(this.rules, new GivenSeries(name, labels), this.scratch);
    if (b.limit && !this.limitError) this.limitError = b.limit;
    l = b.labels === null ? null : Buffer.from(b.labels).toString('latin1');
    this.built.set(key, l);
    return l;
  }

  /** One native histogram sample; returns the samples it added (0 when its series is dropped). */
  add(s: NativeSample, ts: number, explicit = false): number {
    let added = 0;
    const labels = this.labelsOf(s.key, s.name, s.labels);
    if (labels !== null && !this.curNative.has(labels)) {
      this.curNative.add(labels);
      // an explicit timestamp that did not advance is not sent again (as a text series')
      const last = this.lastTs.get(labels) ?? -Infinity;
      if (!explicit || ts > last) {
        this.native.appendHistogram(labels, encodeHistogram(s.h, ts));
        this.lastTs.set(labels, ts);
        added++;
      }
    }
    if (s.hasClassic) return added;
    const rest = s.key.slice(s.name.length);
    const withLe = (le: string): Labels => [...s.labels, ['le', le]];
    for (const [ub, count] of classicBuckets(s.h)) {
      const le = formatFloat(ub);
      const name = s.name + '_bucket';
      const key = `${name}${rest.length ? rest.slice(0, -1) + ',' : '{'}le="${le}"}`;
      added += this.classicSample(key, name, withLe(le), count, ts);
    }
    added += this.classicSample(s.name + '_sum' + rest, s.name + '_sum', s.labels, s.h.sum, ts);
    added += this.classicSample(s.name + '_count' + rest, s.name + '_count', s.labels, s.h.count, ts);
    return added;
  }

  private classicSample(key: string, name: string, labels: Labels, value: number, ts: number): number {
    const l = this.labelsOf(key, name, labels);
    if (l === null || this.curClassic.has(l)) return 0;
    this.classic.append(l, value, ts);
    this.curClassic.add(l);
    return 1;
  }

  /**
   * The scrape ended. Good: staleness markers for the series the last good scrape sent and this one
   * did not. Failed: nothing of this scrape, markers for all the last good one sent. Then the
   * chunk (if any) to `emit`.
   */
  end(good: boolean, now: number, emit: (c: Chunk) => void): number {
    if (!good) {
      this.native.reset();
      this.classic.reset();
      this.curNative = new Set();
      this.curClassic = new Set();
    }
    let stale = 0;
    for (const l of this.lastNative) {
      if (this.curNative.has(l)) continue;
      // after its last sample, also when that one's explicit timestamp is ahead of our clock
      this.native.appendHistogram(
        l,
        encodeHistogram(emptyHistogram(), Math.max(now, (this.lastTs.get(l) ?? -Infinity) + 1), true),
      );
      this.lastTs.delete(l);
      stale++;
    }
    // the label cache follows the series: rebuilt when churn left it far larger than what is sent
    if (this.built.size > 4 * (this.curNative.size + this.curClassic.size) + 1000) this.built.clear();
    for (const l of this.lastClassic) {
      if (this.curClassic.has(l)) continue;
      this.classic.append(l, 0, now, true);
      stale++;
    }
    this.lastNative = this.curNative;
    this.lastClassic = this.curClassic;
    if (this.native.samples + this.classic.samples > 0) {
      const n = this.native.samples;
      const c = this.classic.samples;
      const native: Chunk = { samples: n, body: n > 0 ? this.native.takeCompressed() : EMPTY_BODY };
      emit({ samples: c, body: c > 0 ? this.classic.takeCompressed() : EMPTY_BODY, native });
    }
    this.native.release();
    this.classic.release();
    return stale;
  }

  /** Series this target's native histograms sent in the last good scrape (both forms). */
  get series(): number {
    return this.lastNative.size + this.lastClassic.size;
  }
}
