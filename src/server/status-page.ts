// The status page (SPEC §7): one screen that answers "why is there no data for this node?" and
// "which container on this node is in trouble?". Plain HTML, CSS and a small script, served by the
// agent itself (no build step, nothing fetched from elsewhere: it works offline). The script polls
// /api/status and /api/containers every 2 s and updates the tables in place; sparklines are
// hand-written SVG. About 12 KB in all. The script is ./status-client.js, a file of its own
// (type-checked against ./api-types.ts by tsconfig.browser.json, linted, formatted), read once here
// and copied beside this module into dist/ by the build.
import { readFileSync } from 'node:fs';
import { VERSION } from '../version.js';

const STATUS_SCRIPT = readFileSync(new URL('./status-client.js', import.meta.url), 'utf8');

const CSS = `
:root{--bad:#b00020;--bad-bg:#fde7ea;--ok:#0a7d32;--mute:#5f6368;--line:#d0d4d9;font:14px/1.4 system-ui,sans-serif}
body{margin:0 auto;padding:12px 16px;max-width:1400px;color:#1f2328}
h1{font-size:20px;margin:4px 0}h2{font-size:16px;margin:20px 0 6px}
.summary{color:var(--mute)}.summary strong{color:#1f2328}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;min-width:640px}
th,td{border-bottom:1px solid var(--line);padding:4px 5px;text-align:left;vertical-align:middle;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
th button{font:inherit;font-weight:600;background:none;border:0;padding:2px 0;cursor:pointer;color:inherit}
th button:focus-visible,select:focus-visible,input:focus-visible{outline:2px solid #1a73e8;outline-offset:1px}
th[aria-sort] button::after{content:" ▾"}th[aria-sort=ascending] button::after{content:" ▴"}
tr.down td{background:var(--bad-bg)}tr.down .health{color:var(--bad);font-weight:600}
tr.up .health{color:var(--ok)}tr.stale td{opacity:.55}.hot{color:var(--bad);font-weight:600}
.err{white-space:normal;min-width:260px;color:var(--bad)}.hint{display:block;color:var(--mute)}
.filters{display:flex;flex-wrap:wrap;gap:8px 16px;margin:6px 0}
.filters label{display:flex;flex-direction:column;font-size:12px;color:var(--mute)}
.filters select,.filters input{font:inherit;padding:3px 4px;min-width:160px}
svg.spark{vertical-align:middle;margin-left:6px}svg.spark polyline{fill:none;stroke:#1a73e8;stroke-width:1.2}
.who{white-space:normal;min-width:180px}.who small{display:block;color:var(--mute)}
tr.warn td{background:#fff4e5}.problems{white-space:normal;min-width:240px}
#writers td.url{white-space:normal;overflow-wrap:anywhere;min-width:160px;max-width:320px}
#writers td.err,#targets td.err{overflow-wrap:anywhere}#writers td.wrap{white-space:normal}
table{font-size:13px}caption{text-align:left;caption-side:top;padding:2px 0}
#top td:first-child,#top th:first-child{position:sticky;left:0;background:#fff}
@media (max-width:700px){body{padding:8px}table{min-width:0}svg.spark{display:none}
.filters select,.filters input{min-width:130px}
#top th:nth-child(2),#top td:nth-child(2),#top th:nth-child(10),#top td:nth-child(10),#top th:nth-child(11),#top td:nth-child(11){display:none}
.who{min-width:110px}#top th{white-space:normal;vertical-align:bottom}table{font-size:12px}th,td{padding:3px 3px}}
`;

export function renderStatusPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>nodegraf</title><style>${CSS}</style></head>
<body>
<header><h1>nodegraf ${VERSION}</h1>
<p class="summary" id="summary" role="status" aria-live="polite">loading…</p>
<p class="summary"><a href="/metrics">/metrics</a> · <a href="/targets">/targets</a> · <a href="/pods">/pods</a> · <a href="/api/status">/api/status</a> · <a href="/api/containers">/api/containers</a></p></header>
<main>
<section aria-labelledby="h-trouble"><h2 id="h-trouble">Pods in trouble</h2>
<div class="scroll"><table id="trouble"><caption class="summary" id="trouble-caption">From the pod view</caption>
<thead><tr>
<th scope="col">Pod</th><th scope="col">Workload</th><th scope="col">What is wrong</th>
<th scope="col" class="num">Restarts</th><th scope="col">Last ended</th><th scope="col">Age</th>
</tr></thead><tbody></tbody></table></div>
</section>
<section aria-labelledby="h-top"><h2 id="h-top">Node top: containers</h2>
<div class="filters">
<label for="f-ns">Namespace<select id="f-ns"><option value="">all</option></select></label>
<label for="f-wl">Workload<select id="f-wl"><option value="">all</option></select></label>
<label for="f-label">Pod label (label_name=value)<input id="f-label" type="search" placeholder="label_region=eu-west-1" autocomplete="off"></label>
</div>
<div class="scroll"><table id="top"><caption class="summary" id="top-caption">Derived from the cAdvisor scrapes (last 15 minutes in the sparklines)</caption>
<thead><tr>
<th scope="col"><button type="button" data-sort="name">Container</button></th>
<th scope="col"><button type="button" data-sort="workload">Workload</button></th>
<th scope="col" class="num" aria-sort="descending"><button type="button" data-sort="cpuOfQuota">CPU % of quota</button></th>
<th scope="col" class="num"><button type="button" data-sort="throttledRatio">Throttled %</button></th>
<th scope="col" class="num"><button type="button" data-sort="memoryOfLimit">Memory % of limit</button></th>
<th scope="col" class="num"><button type="button" data-sort="cpuPressure" title="PSI: share of time waiting for a CPU (– without PSI: cgroup v1, kubelet before 1.34)">CPU pressure</button></th>
<th scope="col" class="num"><button type="button" data-sort="memoryPressure" title="PSI: share of time stalled on memory (– without PSI)">Memory pressure</button></th>
<th scope="col" class="num"><button type="button" data-sort="rxBitsPerSec">Pod net in</button></th>
<th scope="col" class="num"><button type="button" data-sort="txBitsPerSec">Pod net out</button></th>
<th scope="col" class="num"><button type="button" data-sort="fsReadBytesPerSec">Disk read</button></th>
<th scope="col" class="num"><button type="button" data-sort="fsWriteBytesPerSec">Disk write</button></th>
<th scope="col" class="num"><button type="button" data-sort="restarts">Restarts</button></th>
</tr></thead><tbody></tbody></table></div>
</section>
<section aria-labelledby="h-targets"><h2 id="h-targets">Targets</h2>
<div class="scroll"><table id="targets"><thead><tr>
<th scope="col">Job</th><th scope="col">URL</th><th scope="col">Health</th><th scope="col">Last scrape</th>
<th scope="col" class="num">Duration</th><th scope="col" class="num">Series</th><th scope="col">Last error and fix</th>
</tr></thead><tbody></tbody></table></div></section>
<section aria-labelledby="h-writers"><h2 id="h-writers">Writers</h2>
<div class="scroll"><table id="writers"><thead><tr>
<th scope="col">Store</th><th scope="col">State</th><th scope="col" class="num">Queued (memory)</th><th scope="col" class="num">Queued (disk)</th>
<th scope="col" class="num">Sent</th><th scope="col" class="num">Retried</th><th scope="col">Dropped, by reason</th><th scope="col">Last error</th>
</tr></thead><tbody></tbody></table></div></section>
<section aria-labelledby="h-pods"><h2 id="h-pods">Pod view</h2><p id="podview" class="summary">–</p></section>
<section aria-labelledby="h-card"><h2 id="h-card">Series and what they cost</h2>
<p><button type="button" id="card-load">Count the series</button> <span id="card-summary" class="summary"></span></p>
<p id="card-jobs" class="summary"></p><p id="card-pods" class="summary"></p><p id="card-labels" class="summary"></p>
<div class="scroll"><table id="card"><thead><tr>
<th scope="col">Family</th><th scope="col">Jobs</th><th scope="col" class="num">Series</th><th scope="col" class="num">Share</th>
<th scope="col" class="num">Bytes a sample</th><th scope="col">Read by the kit</th>
</tr></thead><tbody></tbody></table></div></section>
</main>
<script>${STATUS_SCRIPT}</script>
</body></html>`;
}
