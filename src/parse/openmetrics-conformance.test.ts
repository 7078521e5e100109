// The OpenMetrics 1.0 parser test suite (OpenMetrics tests/testdata/parsers, in the shared real
// fixtures): for every case, our verdict must equal test.json's `shouldParse`. Our verdict: the input
// parses iff TextParser (OpenMetrics mode) yields no Invalid entry, `labels()` reports no error for
// any series, and validateOpenMetrics() returns no error.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Entry, TextParser, type Labels } from './text.js';
import { validateOpenMetrics } from '../testing/openmetrics-validate.js';

const SHARED = process.env.NODEGRAF_SHARED ?? fileURLToPath(new URL('../../../shared/', import.meta.url));
const SUITE = join(SHARED, 'fixtures', 'real', 'exposition', 'openmetrics-testdata-parsers');

/**
 * Cases where our verdict knowingly differs from `shouldParse`, with the reason. Empty: every case
 * agrees. The test asserts that listed cases still diverge, so fixing one is noticed.
 */
const EXPECTED_DIVERGENCES = new Map<string, string>([]);

interface Case {
  name: string;
  shouldParse: boolean;
  body: Buffer;
}

function loadCases(): Case[] {
  return readdirSync(SUITE, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => {
      const meta = JSON.parse(readFileSync(join(SUITE, d.name, 'test.json'), 'utf8')) as {
        type: string;
        file: string;
        shouldParse: boolean;
      };
      assert.equal(meta.type, 'text', `${d.name}: only text cases are expected`);
      return {
        name: d.name,
        shouldParse: meta.shouldParse,
        body: readFileSync(join(SUITE, d.name, meta.file)),
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Every reason the input does not parse (empty: it parses). */
function openMetricsErrors(body: Buffer): string[] {
  const errors: string[] = [];
  const p = new TextParser(body, true);
  const labels: Labels = [];
  for (;;) {
    const e = p.next();
    if (e === Entry.EOF) break;
    if (e === Entry.Invalid) errors.push(`line ${p.line}: ${p.error}`);
    if (e === Entry.Series) {
      labels.length = 0;
      const err = p.labels(labels);
      if (err !== undefined) errors.push(`line ${p.line}: ${err}`);
    }
  }
  for (const v of validateOpenMetrics(body)) errors.push(`line ${v.line}: ${v.message}`);
  return errors;
}

test('OpenMetrics parser test suite: verdict equals shouldParse', (t) => {
  if (!existsSync(SUITE)) {
    t.skip(`fixtures not found: ${SUITE} (set NODEGRAF_SHARED to the shared folder)`);
    return;
  }
  const cases = loadCases();
  assert.ok(cases.length >= 200, `expected the full suite, found ${cases.length} cases`);
  for (const name of EXPECTED_DIVERGENCES.keys()) {
    assert.ok(
      cases.some((c) => c.name === name),
      `EXPECTED_DIVERGENCES lists unknown case ${name}`,
    );
  }
  const wrong: string[] = [];
  const nowAgreeing: string[] = [];
  let agree = 0;
  for (const c of cases) {
    const errors = openMetricsErrors(c.body);
    const parses = errors.length === 0;
    const ok = parses === c.shouldParse;
    if (ok) agree++;
    if (EXPECTED_DIVERGENCES.has(c.name)) {
      if (ok) nowAgreeing.push(c.name);
    } else if (!ok) {
      wrong.push(
        `${c.name}: shouldParse=${c.shouldParse}, got ${parses ? 'parses' : `errors ${JSON.stringify(errors)}`}`,
      );
    }
  }
  t.diagnostic(
    `${agree}/${cases.length} cases agree with shouldParse (${EXPECTED_DIVERGENCES.size} expected divergences)`,
  );
  assert.deepEqual(wrong, [], 'cases whose verdict differs from shouldParse');
  assert.deepEqual(
    nowAgreeing,
    [],
    'cases listed in EXPECTED_DIVERGENCES now agree: remove them from the list',
  );
});

test('OpenMetrics parser test suite: every rejected case is rejected for a reason tied to its name', (t) => {
  if (!existsSync(SUITE)) {
    t.skip(`fixtures not found: ${SUITE} (set NODEGRAF_SHARED to the shared folder)`);
    return;
  }
  // Guards against passing a "bad_" case by accident (an unrelated rule firing). Each family of bad
  // cases must be rejected by at least one message matching its topic.
  const topics: Array<[RegExp, RegExp]> = [
    [/^bad_blank_line/, /blank line/],
    [/^bad_clashing_names/, /clash|more than one TYPE/],
    [/^bad_counter_values/, /NaN|negative|integer|cumulative|without/],
    [/^bad_exemplars?_/, /exemplar|invalid value|unexpected text/],
    [/^bad_grouping_or_ordering/, /grouped|timestamp|clash|expected/],
    [/^bad_help/, /HELP|metadata line|invalid metric name/],
    [/^bad_histograms/, /histogram|bucket|comment/],
    [/^bad_info_and_stateset_values|^bad_stateset_info_values/, /info|stateset|clash/],
    [
      /^bad_invalid_labels|^bad_missing_equal|^bad_missing_or_extra_commas|^bad_missing_or_wrong_quotes/,
      /label|blank|comma/,
    ],
    [/^bad_metadata/, /comment|metadata/],
    [/^bad_metric_names/, /metric name|blank/],
    [/^bad_missing_or_invalid_labels_for_a_type/, /quantile|le|stateset/],
    [/^bad_missing_value/, /missing value/],
    [/^bad_no_eof|^bad_text_after_eof/, /EOF|comment/],
    [/^bad_repeated_metadata/, /more than one|invalid metric type/],
    [/^bad_timestamp/, /timestamp/],
    [/^bad_type/, /type|TYPE|metadata line/],
    [/^bad_unit/, /UNIT|unit|metadata line/],
    [/^bad_value/, /value|extra blank/],
  ];
  const unexplained: string[] = [];
  for (const c of loadCases()) {
    if (c.shouldParse || EXPECTED_DIVERGENCES.has(c.name)) continue;
    const topic = topics.find(([name]) => name.test(c.name));
    assert.ok(topic, `no topic for ${c.name}`);
    const errors = openMetricsErrors(c.body);
    if (!errors.some((e) => topic[1].test(e))) unexplained.push(`${c.name}: ${JSON.stringify(errors)}`);
  }
  assert.deepEqual(unexplained, []);
});
