// The agent's own /metrics as numbers, for tests and the soak that run it as a process.

/** Every family's samples added up (over all label sets), by metric name. */
export async function metricTotals(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const name = line.slice(0, line.search(/[{ ]/));
    m.set(name, (m.get(name) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return m;
}

/** The samples of one family added up by the value of one label (e.g. per job). */
export async function metricByLabel(base: string, name: string, label: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<string, number>();
  const re = new RegExp(`[{,]${label}="([^"]*)"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    const v = re.exec(line)?.[1] ?? '';
    out.set(v, (out.get(v) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}
