// `--test` output: every sample exactly as it would be written, in Categraf's line format
// (`unix_ts HH:MM:SS metric k=v ... value`) or as exposition text (`--format prom`).
import { escapeLabelValue } from '../text-format.js';
import { decodeChunk } from '../prompb/decode.js';
import type { Chunk } from '../prompb/chunk.js';
import type { SampleSink } from '../prompb/chunk.js';

export type PrintFormat = 'categraf' | 'prom';

function two(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class PrintSink implements SampleSink {
  samples = 0;
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly format: PrintFormat,
  ) {}

  push(chunk: Chunk): void {
    const lines: string[] = [];
    for (const s of decodeChunk(chunk.body)) {
      let name = '';
      const rest: Array<[string, string]> = [];
      for (const [k, v] of s.labels) {
        if (k === '__name__') name = v;
        else rest.push([k, v]);
      }
      const value = s.stale ? 'stale' : formatValue(s.value);
      if (this.format === 'prom') {
        const ls = rest.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',');
        lines.push(`${name}${ls ? `{${ls}}` : ''} ${s.stale ? 'NaN' : value} ${s.timestampMs}`);
      } else {
        const d = new Date(s.timestampMs);
        const hms = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
        const ls = rest.map(([k, v]) => `${k}=${v}`).join(' ');
        lines.push(`${Math.floor(s.timestampMs / 1000)} ${hms} ${name} ${ls} ${value}`);
      }
      this.samples++;
    }
    // native histograms: what a writer with native_histograms = true gets instead of the
    // conversions above, one comment line each (the text format has no native histograms)
    for (const s of chunk.native ? decodeChunk(chunk.native.body) : []) {
      if (!s.histogram) continue;
      const name = s.labels.find(([k]) => k === '__name__')?.[1] ?? '';
      const ls = s.labels
        .filter(([k]) => k !== '__name__')
        .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
        .join(',');
      const h = s.histogram;
      const what = s.stale
        ? 'stale'
        : `count=${formatValue(h.count)} sum=${formatValue(h.sum)} schema=${h.schema} buckets=${h.positive.length + h.negative.length}`;
      lines.push(`# native histogram ${name}${ls ? `{${ls}}` : ''} ${what} ${s.timestampMs}`);
      this.samples++;
    }
    if (lines.length) this.out.write(lines.join('\n') + '\n');
  }
}
