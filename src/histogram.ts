// Native histograms: the contract between the stages that carry them. The protobuf exposition
// produces them (parse/protobuf.ts), a target's pipeline routes them (scrape/native.ts), remote
// write encodes them (prompb/encode.ts), and writers that cannot send them get classic series
// converted here.

/** A native histogram as exposed (and as remote write 1.0's Histogram carries it). */
export interface NativeHistogram {
  /** Counts are floats (`*_count_float`, `*_count` fields), not integers with deltas. */
  float: boolean;
  count: number;
  sum: number;
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  /** Spans as [offset, length] pairs, flat. */
  negativeSpans: number[];
  /** Integer histograms: each bucket's count as a delta to the previous one. */
  negativeDeltas: number[];
  /** Float histograms: absolute counts. */
  negativeCounts: number[];
  positiveSpans: number[];
  positiveDeltas: number[];
  positiveCounts: number[];
  /** A gauge histogram (may go down): remote write's reset hint GAUGE. */
  gauge: boolean;
}

/** A native histogram without observations (an integer one, exponential schema 0). */
export function emptyHistogram(): NativeHistogram {
  return {
    float: false,
    count: 0,
    sum: 0,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    negativeSpans: [],
    negativeDeltas: [],
    negativeCounts: [],
    positiveSpans: [],
    positiveDeltas: [],
    positiveCounts: [],
    gauge: false,
  };
}

/** Upper bound of native bucket `index` at `schema` (bucket i covers (base^(i-1), base^i]). */
export function nativeBound(schema: number, index: number): number {
  return Math.pow(2, index * Math.pow(2, -schema));
}

/**
 * The classic, cumulative buckets of a native histogram: [upper bound, cumulative count], ascending,
 * ending with +Inf. Each native bucket's upper bound becomes an `le`; negative buckets and the zero
 * bucket come first. The resolution is the native one (schema 3: 8 buckets per doubling).
 */
export function classicBuckets(h: NativeHistogram): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const neg = absoluteBuckets(h.negativeSpans, h.float ? h.negativeCounts : h.negativeDeltas, h.float);
  let cum = 0;
  // negative bucket i covers [-base^i, -base^(i-1)): ascending order is descending index
  for (let k = neg.length - 1; k >= 0; k--) {
    const [i, c] = neg[k]!;
    cum += c;
    out.push([-nativeBound(h.schema, i - 1), cum]);
  }
  cum += h.zeroCount;
  if (h.zeroCount > 0 || h.zeroThreshold > 0) out.push([h.zeroThreshold, cum]);
  for (const [i, c] of absoluteBuckets(
    h.positiveSpans,
    h.float ? h.positiveCounts : h.positiveDeltas,
    h.float,
  )) {
    cum += c;
    out.push([nativeBound(h.schema, i), cum]);
  }
  out.push([Infinity, h.count]);
  return out;
}

/** [index, count] of each bucket the spans describe, counts made absolute. */
function absoluteBuckets(spans: number[], values: number[], float: boolean): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let index = 0;
  let k = 0;
  let count = 0;
  for (let s = 0; s < spans.length; s += 2) {
    index += spans[s]!;
    for (let j = 0; j < spans[s + 1]!; j++, index++, k++) {
      const v = values[k] ?? 0;
      count = float ? v : count + v;
      out.push([index, count]);
    }
  }
  return out;
}
