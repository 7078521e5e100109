// The Prometheus text format's spelling of numbers and label values, as the client libraries
// write it: shared by what reads other expositions into it (parse/protobuf.ts), what converts
// native histograms (scrape/native.ts), what writes it (kube/health.ts, cli/print-sink.ts) and the
// simulator's pages (sim/util.ts). A neutral module: it imports nothing of the project.

/**
 * A float as Go's strconv.FormatFloat(v, 'g', -1, 64) writes it: shortest digits, the exponent
 * form below 1e-4 and from 1e6 up, at least two exponent digits ("1e-05", "1.048576e+06"). It
 * matters for `le` and `quantile`: they are label values, so a series spelt otherwise is another.
 */
export function formatFloat(v: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const a = v < 0 ? -v : v;
  if (a === 0 || (a >= 1e-4 && a < 1e6)) return String(v);
  const s = v.toExponential();
  const i = s.indexOf('e');
  const digits = s.slice(i + 2);
  return s.slice(0, i) + 'e' + s[i + 1] + (digits.length < 2 ? '0' + digits : digits);
}

const NEEDS_ESCAPE = /[\\"\n]/;

/** A label value with the text format's escapes (backslash, double quote, newline). */
export function escapeLabelValue(v: string): string {
  // most values need no escaping: one test instead of three replaces
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
