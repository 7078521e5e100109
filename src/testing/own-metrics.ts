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
