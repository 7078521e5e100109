// How a scrape ends, as Prometheus's scrapeAndReport decides it: up or not, why, what was skipped,
// and the five synthetic series (`up`, `scrape_*`) every target sends. The pipeline decides and
// appends them at the end of each scrape (pipeline.ts `end`/`fail`); the target records the report.
import { encodeLabels, type EncodedLabels, type LabelPairs } from '../prompb/encode.js';
import { ScrapeError } from './errors.js';

export interface ScrapeStats {
  /** Samples in the payload (`scrape_samples_scraped`). */
  scraped: number;
  /** Samples kept after filters and relabeling (`scrape_samples_post_metric_relabeling`). */
  postRelabel: number;
  /** Series seen for the first time (`scrape_series_added`). */
  added: number;
  /** Samples actually emitted (timestamped samples that did not advance are not). */
  emitted: number;
  /** Series that disappeared and got a staleness marker. */
  stale: number;
  /** Malformed lines, and the first such error with its line number. */
  invalidLines: number;
  firstError: string;
  duplicates: number;
  /** Set when a limit failed the whole scrape. */
  limitError: string;
}

/** What a scrape came to, as the pipeline reports it to its target. */
export interface ScrapeOutcome {
  up: boolean;
  durationMs: number;
  stats?: ScrapeStats;
  error?: ScrapeError;
  /** When the scrape succeeded but some lines were malformed: the first, with its line number. */
  warning?: string;
  /** A failed scrape: how many staleness markers it sent (the last good scrape's series). */
  staleMarkers?: number;
}

export interface ScrapeReport extends ScrapeOutcome {
  target: string;
  job: string;
}

export const SYNTHETIC = [
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_samples_post_metric_relabeling',
  'scrape_series_added',
] as const;

/** The synthetic series' encoded labels, in SYNTHETIC order: the target's labels and the name. */
export function syntheticLabels(targetLabels: LabelPairs): EncodedLabels[] {
  return SYNTHETIC.map((name) => {
    const pairs: LabelPairs = [['__name__', name], ...targetLabels];
    pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return encodeLabels(pairs);
  });
}

/** The synthetic values of a scrape, in SYNTHETIC order. */
export function syntheticValues(o: ScrapeOutcome): number[] {
  const s = o.up ? o.stats : undefined;
  return [o.up ? 1 : 0, o.durationMs / 1000, s?.scraped ?? 0, s?.postRelabel ?? 0, s?.added ?? 0];
}

/** A scrape whose payload was read but cannot count as up: a broken limit, or nothing parseable. */
export function scrapeFailure(st: ScrapeStats): ScrapeError | undefined {
  if (st.limitError) {
    return new ScrapeError(
      'limit',
      st.limitError,
      'raise the limit in the instance, or drop series with metrics_drop / relabel_configs',
    );
  }
  if (st.scraped === 0 && st.invalidLines > 0) {
    return new ScrapeError(
      'parse',
      `unparseable payload: ${st.firstError}`,
      'is this a Prometheus text endpoint?',
    );
  }
  return undefined;
}

/** What was skipped in an otherwise good scrape. */
export function scrapeWarning(st: ScrapeStats): string | undefined {
  const w: string[] = [];
  if (st.invalidLines > 0) w.push(`${st.invalidLines} malformed line(s) skipped; first: ${st.firstError}`);
  if (st.duplicates > 0)
    w.push(`${st.duplicates} duplicate series skipped (same labels twice in one scrape)`);
  return w.length ? w.join('; ') : undefined;
}
