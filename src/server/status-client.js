// @ts-check
// The status page's script, served inline as written (plain ES2020 for the browser, no build step).
// It is type-checked against the API's JSON types (tsconfig.browser.json, ./api-types.ts), linted
// and formatted like the rest. It only reads the agent's own JSON APIs and writes text through
// textContent (no innerHTML of data), so labels and errors from targets cannot inject markup.

/** @typedef {import('./api-types.js').StatusJson} StatusJson */
/** @typedef {import('./api-types.js').CardinalityJson} CardinalityJson */
/** @typedef {import('./api-types.js').ContainersJson} ContainersJson */
/** @typedef {import('./api-types.js').ContainerRowJson} ContainerRowJson */
/** @typedef {Required<ContainerRowJson>['history']} Sparks */
/** @typedef {ContainerRowJson & { history: Sparks }} Row */

(() => {
  /** @param {string} s */
  const $ = (s) => /** @type {HTMLElement} */ (document.querySelector(s));
  /** @param {string} s */
  const $select = (s) => /** @type {HTMLSelectElement} */ (document.querySelector(s));

  /** @type {{ sort: string, dir: number, ns: string, wl: string, label: string, containers: Row[], agentNow?: number }} */
  const state = { sort: 'cpuOfQuota', dir: -1, ns: '', wl: '', label: '', containers: [] };

  /**
   * @param {string} tag
   * @param {Record<string, string | undefined> | null} attrs
   * @param {...(Node | string | number | null | undefined)} kids
   */
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
    for (const k of kids)
      e.append(k instanceof Node ? k : document.createTextNode(k == null ? '' : String(k)));
    return e;
  };
  /** @param {number | null} x */
  const pct = (x) => (x == null ? '–' : (x * 100).toFixed(1) + ' %');
  /** @param {number | null} x @param {string} unit */
  const si = (x, unit) => {
    if (x == null) return '–';
    const a = Math.abs(x);
    const [d, p] = a >= 1e9 ? [1e9, 'G'] : a >= 1e6 ? [1e6, 'M'] : a >= 1e3 ? [1e3, 'k'] : [1, ''];
    return (x / d).toFixed(d === 1 ? 0 : 1) + ' ' + p + unit;
  };
  /** @param {(number | null)[]} points @param {number} max */
  const spark = (points, max) => {
    const vals = points.map((v) => (v == null ? null : v));
    const hi = Math.max(max || 0, .../** @type {number[]} */ (vals.filter((v) => v != null)), 1e-9);
    const w = 60,
      h = 16,
      n = vals.length;
    /** @type {string[]} */
    const pts = [];
    vals.forEach((v, i) => {
      if (v != null) pts.push(((i * w) / (n - 1)).toFixed(1) + ',' + (h - (v / hi) * h).toFixed(1));
    });
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('width', String(w));
    svg.setAttribute('height', String(h));
    svg.setAttribute('aria-hidden', 'true');
    const pl = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    pl.setAttribute('points', pts.join(' '));
    svg.append(pl);
    return svg;
  };
  /** @param {ContainerRowJson} c */
  const key = (c) => c.namespace + '/' + c.pod + '/' + c.container;
  /** @param {Row} c @returns {string | number | null} */
  const sortValue = (c) =>
    state.sort === 'name'
      ? key(c)
      : state.sort === 'workload'
        ? c.workloadKind + '/' + c.workload
        : /** @type {number | null} */ (c[/** @type {keyof Row} */ (state.sort)]);

  function visible() {
    const eq = state.label.indexOf('=');
    const [lk, lv] =
      eq >= 0
        ? [state.label.slice(0, eq).trim(), state.label.slice(eq + 1).trim()]
        : [state.label.trim(), null];
    return state.containers.filter(
      (c) =>
        (!state.ns || c.namespace === state.ns) &&
        (!state.wl || c.workloadKind + '/' + c.workload === state.wl) &&
        (!lk ||
          Object.entries(c.podLabels).some(
            ([k, v]) => (k === lk || k === 'label_' + lk) && (lv === null || v === lv),
          )),
    );
  }

  function renderTop() {
    const rows = visible().sort((a, b) => {
      const x = sortValue(a),
        y = sortValue(b);
      if (x == null && y == null) return key(a) < key(b) ? -1 : 1;
      if (x == null) return 1;
      if (y == null) return -1;
      return (x < y ? -1 : x > y ? 1 : 0) * state.dir || (key(a) < key(b) ? -1 : 1);
    });
    const body = $('#top tbody');
    // values whose samples are over a minute old: the cAdvisor target stopped answering (or the
    // container is gone and its series not yet dropped): shown, but greyed and said so
    const now = state.agentNow || Date.now();
    body.replaceChildren(
      ...rows.map((c) => {
        const age = c.time ? (now - Date.parse(c.time)) / 1000 : 0;
        const stale = age > 60;
        return el(
          'tr',
          {
            'data-key': key(c),
            class: stale ? 'stale' : undefined,
            title: stale ? 'values from ' + Math.round(age) + ' s ago' : undefined,
          },
          el(
            'td',
            { class: 'who' },
            c.namespace + '/' + c.pod,
            el('small', {}, c.container + (stale ? ' · stale, ' + Math.round(age) + ' s old' : '')),
          ),
          el('td', {}, c.workload ? c.workloadKind + '/' + c.workload : '–'),
          el(
            'td',
            { class: 'num' + ((c.cpuOfQuota ?? 0) > 0.9 ? ' hot' : ''), 'data-col': 'cpuOfQuota' },
            pct(c.cpuOfQuota),
            spark(c.history.cpuOfQuota, 1),
          ),
          el(
            'td',
            { class: 'num' + ((c.throttledRatio ?? 0) > 0.25 ? ' hot' : ''), 'data-col': 'throttledRatio' },
            pct(c.throttledRatio),
          ),
          el(
            'td',
            { class: 'num' + ((c.memoryOfLimit ?? 0) > 0.9 ? ' hot' : ''), 'data-col': 'memoryOfLimit' },
            pct(c.memoryOfLimit),
            spark(c.history.memoryOfLimit, 1),
          ),
          el(
            'td',
            { class: 'num' + ((c.cpuPressure ?? 0) > 0.25 ? ' hot' : ''), 'data-col': 'cpuPressure' },
            pct(c.cpuPressure),
          ),
          el(
            'td',
            { class: 'num' + ((c.memoryPressure ?? 0) > 0.1 ? ' hot' : ''), 'data-col': 'memoryPressure' },
            pct(c.memoryPressure),
          ),
          el('td', { class: 'num', 'data-col': 'rxBitsPerSec' }, si(c.rxBitsPerSec, 'bit/s')),
          el('td', { class: 'num', 'data-col': 'txBitsPerSec' }, si(c.txBitsPerSec, 'bit/s')),
          el('td', { class: 'num', 'data-col': 'fsReadBytesPerSec' }, si(c.fsReadBytesPerSec, 'B/s')),
          el('td', { class: 'num', 'data-col': 'fsWriteBytesPerSec' }, si(c.fsWriteBytesPerSec, 'B/s')),
          el(
            'td',
            { class: 'num', 'data-col': 'restarts' },
            c.restarts == null ? '–' : c.restarts,
            c.waitingReason || c.lastTerminatedReason
              ? el(
                  'small',
                  { class: 'hint' },
                  [c.waitingReason, c.lastTerminatedReason && 'last: ' + c.lastTerminatedReason]
                    .filter(Boolean)
                    .join(', '),
                )
              : '',
          ),
        );
      }),
    );
    $('#top-caption').textContent =
      rows.length +
      ' of ' +
      state.containers.length +
      ' containers, derived from the cAdvisor scrapes (sparklines: last 15 minutes)';
  }

  /** @param {HTMLSelectElement} select @param {string[]} values */
  function options(select, values) {
    const cur = select.value;
    select.replaceChildren(
      el('option', { value: '' }, 'all'),
      ...values.map((v) => el('option', { value: v }, v)),
    );
    select.value = values.includes(cur) ? cur : '';
  }

  /** @param {string | null} iso @param {number} now */
  const since = (iso, now) => {
    if (!iso) return '–';
    const s = Math.max(0, (now - Date.parse(iso)) / 1000);
    return s < 90
      ? Math.round(s) + ' s'
      : s < 5400
        ? Math.round(s / 60) + ' min'
        : s < 172800
          ? (s / 3600).toFixed(1) + ' h'
          : Math.round(s / 86400) + ' d';
  };

  /** @param {StatusJson} s */
  function renderTrouble(s) {
    const list = s.podsInTrouble || [];
    const now = Date.parse(s.now) || Date.now();
    const total = s.podView.pods;
    $('#trouble-caption').textContent =
      total == null
        ? 'pod metadata is off ([pod_metadata] enable = false): no pod view to read'
        : list.length
          ? list.length +
            ' of ' +
            total +
            ' pods on the node need a look (from the pod view; a container that is not running has no row in the node top)'
          : 'none of the ' + total + ' pods on the node needs a look';
    $('#trouble tbody').replaceChildren(
      ...list.map((p) =>
        el(
          'tr',
          {
            class: p.severity >= 3 ? 'down' : p.severity === 2 ? 'warn' : undefined,
            'data-pod': p.namespace + '/' + p.pod,
          },
          el(
            'td',
            { class: 'who' },
            p.namespace + '/' + p.pod,
            el('small', {}, p.phase + (p.ready ? ', ready' : '')),
          ),
          el('td', {}, p.workload ? p.workloadKind + '/' + p.workload : '–'),
          el('td', { class: 'problems' }, p.problems.join(' · ')),
          el('td', { class: 'num' }, p.restarts),
          el('td', {}, p.lastTermination ? since(p.lastTermination, now) + ' ago' : '–'),
          el('td', {}, since(p.startTime, now)),
        ),
      ),
    );
  }

  /** @param {StatusJson} s */
  function renderStatus(s) {
    const up = s.targets.filter((t) => t.health === 'up').length;
    const trouble = (s.podsInTrouble || []).length;
    $('#summary').textContent =
      up +
      ' of ' +
      s.targets.length +
      ' targets up · ' +
      s.writers.filter((w) => w.state === 'ok').length +
      ' of ' +
      s.writers.length +
      ' writers ok · ' +
      (s.podView.pods == null ? '' : trouble + ' pods in trouble · ') +
      state.containers.length +
      ' containers';
    renderTrouble(s);
    $('#targets tbody').replaceChildren(
      ...s.targets.map((t) => {
        const [msg, hint] = splitHint(t.lastError || t.lastWarning || '');
        // a family the kit needs that this target does not deliver: which panels it empties, and why
        const missing = (t.missingFamilies || []).map((m) =>
          el(
            'div',
            { class: 'missing' },
            'missing ' + m.family + ': empties ' + (m.empties.join(', ') || 'no panel'),
            el('span', { class: 'hint' }, 'likely: ' + m.cause),
          ),
        );
        return el(
          'tr',
          { class: t.health, 'data-job': t.job, 'data-url': t.url },
          el('td', {}, t.job || '(no job)'),
          el('td', {}, t.url),
          el('td', { class: 'health' }, t.health),
          el('td', {}, t.lastScrape ? new Date(t.lastScrape).toLocaleTimeString() : '–'),
          el('td', { class: 'num' }, (t.lastScrapeDurationSeconds * 1000).toFixed(0) + ' ms'),
          el('td', { class: 'num' }, t.series),
          el('td', { class: 'err' }, msg, hint ? el('span', { class: 'hint' }, hint) : '', ...missing),
        );
      }),
    );
    if (!s.writers.length)
      $('#writers tbody').replaceChildren(
        el(
          'tr',
          { class: 'down' },
          el(
            'td',
            { colspan: '8', class: 'err' },
            'no [[writers]] in config.toml: what is scraped is not sent anywhere',
          ),
        ),
      );
    else
      $('#writers tbody').replaceChildren(
        ...s.writers.map((w) =>
          el(
            'tr',
            { class: w.state === 'ok' ? 'up' : 'down' },
            el('td', { class: 'url' }, w.url),
            el('td', { class: 'health' }, w.state),
            el('td', { class: 'num' }, w.queuedSamples),
            el(
              'td',
              { class: 'num' },
              w.diskQueueSamples + ' (' + (w.diskQueueBytes / 1048576).toFixed(1) + ' MiB)',
            ),
            el('td', { class: 'num' }, w.sentSamples),
            el('td', { class: 'num' }, w.retriedSamples),
            el(
              'td',
              { class: 'wrap' },
              Object.entries(w.droppedSamples)
                .filter(([, n]) => n > 0)
                .map(([r, n]) => r + ' ' + n)
                .join(', ') || 'none',
            ),
            el(
              'td',
              { class: 'err' },
              w.lastError,
              w.lastHint ? el('span', { class: 'hint' }, w.lastHint) : '',
            ),
          ),
        ),
      );
    const p = s.podView;
    $('#podview').textContent = !p.enabled
      ? 'off ([pod_metadata] enable = false): no workload or pod labels, no pod health series'
      : p.source +
        ' source, ' +
        (p.synced ? 'synced' : 'not synced yet') +
        (p.lastUpdate ? ', updated ' + new Date(p.lastUpdate).toLocaleTimeString() : '') +
        (p.lastError ? ' — error: ' + p.lastError + (p.lastHint ? ' (' + p.lastHint + ')' : '') : '');
  }

  /**
   * "message (hint)" as the agent writes its errors.
   * @param {string} s
   */
  function splitHint(s) {
    const m = /^(.*?) \((.*)\)$/s.exec(s);
    return m ? [m[1], m[2]] : [s, ''];
  }

  // The sparklines change once per 15 s bucket: their arrays are fetched that often, the values
  // every poll.
  let historyAt = 0;
  /** @type {Map<string, Sparks>} */
  const histories = new Map();
  /** @type {Sparks} */
  const NO_HISTORY = {
    cpuOfQuota: [],
    throttledRatio: [],
    memoryOfLimit: [],
    rxBitsPerSec: [],
    txBitsPerSec: [],
    fsReadBytesPerSec: [],
    fsWriteBytesPerSec: [],
  };
  async function refresh() {
    try {
      const withHistory = Date.now() - historyAt >= 15000;
      const [s, c] = /** @type {[StatusJson, ContainersJson]} */ (
        await Promise.all([
          fetch('/api/status').then((r) => r.json()),
          fetch('/api/containers' + (withHistory ? '' : '?history=0')).then((r) => r.json()),
        ])
      );
      if (withHistory) {
        historyAt = Date.now();
        histories.clear();
        for (const x of c.containers) if (x.history) histories.set(key(x), x.history);
      }
      state.containers = c.containers.map((x) => ({
        ...x,
        history: x.history || histories.get(key(x)) || NO_HISTORY,
      }));
      state.agentNow = Date.parse(c.now);
      options($select('#f-ns'), [...new Set(c.containers.map((x) => x.namespace))].sort());
      options(
        $select('#f-wl'),
        [
          ...new Set(c.containers.filter((x) => x.workload).map((x) => x.workloadKind + '/' + x.workload)),
        ].sort(),
      );
      state.ns = $select('#f-ns').value;
      state.wl = $select('#f-wl').value;
      renderStatus(s);
      renderTop();
      document.body.dataset.updated = String(Date.now());
    } catch (e) {
      $('#summary').textContent = 'the agent does not answer: ' + e;
    }
  }

  for (const b of /** @type {NodeListOf<HTMLButtonElement>} */ (
    document.querySelectorAll('#top th button')
  )) {
    b.addEventListener('click', () => {
      const k = b.dataset.sort || 'name';
      state.dir = state.sort === k ? -state.dir : k === 'name' || k === 'workload' ? 1 : -1;
      state.sort = k;
      for (const th of document.querySelectorAll('#top th')) th.removeAttribute('aria-sort');
      b.parentElement?.setAttribute('aria-sort', state.dir < 0 ? 'descending' : 'ascending');
      renderTop();
    });
  }
  $select('#f-ns').addEventListener('change', (e) => {
    state.ns = /** @type {HTMLSelectElement} */ (e.target).value;
    renderTop();
  });
  $select('#f-wl').addEventListener('change', (e) => {
    state.wl = /** @type {HTMLSelectElement} */ (e.target).value;
    renderTop();
  });
  $('#f-label').addEventListener('input', (e) => {
    state.label = /** @type {HTMLInputElement} */ (e.target).value;
    renderTop();
  });
  // the series report: on request (it walks every cached series)
  $('#card-load').addEventListener('click', async () => {
    const res = await fetch('/api/cardinality');
    const r = /** @type {CardinalityJson} */ (await res.json());
    $('#card-summary').textContent =
      r.series +
      ' series, ' +
      r.samplesPerSecond.toFixed(0) +
      ' samples/s, ' +
      si(r.bytesPerSecond, 'B/s') +
      ' before compression; read by no shipped dashboard or alert: ' +
      r.unread.families +
      ' families, ' +
      r.unread.series +
      ' series (' +
      pct(r.unread.share) +
      ')';
    $('#card-jobs').textContent =
      'By job: ' +
      r.jobs
        .map((j) => (j.job || '(no job)') + ' ' + j.series + ' (' + j.samplesPerSecond.toFixed(1) + '/s)')
        .join(', ');
    $('#card-pods').textContent =
      'Largest pods: ' +
      r.pods
        .slice(0, 10)
        .map((p) => p.namespace + '/' + p.pod + (p.workload ? ' (' + p.workload + ')' : '') + ' ' + p.series)
        .join(', ');
    $('#card-labels').textContent =
      'Labels with the most values: ' +
      r.labels
        .slice(0, 10)
        .map((l) => l.label + ' ' + (l.capped ? '≥' : '') + l.values)
        .join(', ');
    $('#card tbody').replaceChildren(
      ...r.families
        .slice(0, 30)
        .map((f) =>
          el(
            'tr',
            { 'data-family': f.family, class: f.readers.length ? 'read' : 'unread' },
            el('td', {}, f.family),
            el('td', {}, f.jobs.join(', ')),
            el('td', { class: 'num' }, f.series),
            el('td', { class: 'num' }, pct(f.savingShare)),
            el('td', { class: 'num' }, f.bytesPerSample.toFixed(0)),
            el(
              'td',
              {},
              f.readers.length ? f.readers.join('; ') : 'no: metrics_drop saves ' + pct(f.savingShare),
            ),
          ),
        ),
    );
  });
  // one poll at a time: the next starts 2 s after the last answer, never on top of a slow one
  (async function loop() {
    await refresh();
    setTimeout(loop, 2000);
  })();
})();
