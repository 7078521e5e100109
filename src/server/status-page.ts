// The status page: one screen that answers "why is there no data for this node?".
import { VERSION } from '../version.js';
import type { TargetJson, WriterJson } from './status.js';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderStatusPage(targets: TargetJson[], writers: WriterJson[]): string {
  const trow = (t: TargetJson) => `<tr class="${t.health}">
  <td>${esc(t.job)}</td><td>${esc(t.url)}</td><td>${t.health}</td>
  <td>${t.lastScrape ? esc(t.lastScrape) : '-'}</td><td>${(t.lastScrapeDurationSeconds * 1000).toFixed(0)} ms</td>
  <td>${t.samples}</td><td>${t.series}</td><td>${esc(t.lastError || t.lastWarning || '')}</td></tr>`;
  const wrow = (w: WriterJson) => `<tr class="${w.state === 'ok' ? 'up' : 'down'}">
  <td>${esc(w.url)}</td><td>${w.state}</td><td>${w.sentSamples}</td><td>${w.retriedSamples}</td>
  <td>${Object.values(w.droppedSamples).reduce((a, b) => a + b, 0)}</td><td>${w.queuedSamples}</td>
  <td>${w.diskQueueSamples} (${(w.diskQueueBytes / 1048576).toFixed(1)} MiB)</td><td>${esc(w.lastError)}</td></tr>`;
  const up = targets.filter((t) => t.health === 'up').length;
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>nodegraf</title><style>
body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:2em}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}tr.up td:nth-child(3){color:#080}
tr.down td{background:#fee}tr.unknown td{color:#888}</style></head><body>
<h1>nodegraf ${VERSION}</h1>
<p>${up}/${targets.length} targets up · <a href="/metrics">/metrics</a> · <a href="/targets">/targets</a> (JSON)</p>
<h2>Targets</h2><table><tr><th>job</th><th>url</th><th>health</th><th>last scrape</th><th>duration</th><th>samples</th><th>series</th><th>last error</th></tr>
${targets.map(trow).join('\n')}</table>
<h2>Writers</h2><table><tr><th>url</th><th>state</th><th>sent samples</th><th>retried</th><th>dropped</th><th>queued (memory)</th><th>queued (disk)</th><th>last error</th></tr>
${writers.map(wrow).join('\n')}</table></body></html>`;
}
