// Line numbers of TOML keys. smol-toml gives none, so we scan the source: track the current
// `[table]` / `[[array]]` header (with the element index of every array of tables on the way)
// and note where each `key =` appears. Best effort: right for ordinary configs, never throws.

/** A path into the parsed document: table names and array-of-tables indices. */
export type TomlPath = (string | number)[];

export function pathString(path: TomlPath): string {
  let s = '';
  for (const seg of path) s += typeof seg === 'number' ? `[${seg}]` : s ? `.${seg}` : seg;
  return s;
}

// A bare key, a "basic" key or a 'literal' key, optionally dotted.
const KEY_PART = String.raw`(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')`;
const KEY_RE = new RegExp(String.raw`^\s*(${KEY_PART}(?:\s*\.\s*${KEY_PART})*)\s*=`);
const ARRAY_HEADER_RE = new RegExp(String.raw`^\s*\[\[\s*(${KEY_PART}(?:\s*\.\s*${KEY_PART})*)\s*\]\]`);
const TABLE_HEADER_RE = new RegExp(String.raw`^\s*\[\s*(${KEY_PART}(?:\s*\.\s*${KEY_PART})*)\s*\]`);

function splitKey(text: string): string[] {
  const parts: string[] = [];
  const re = new RegExp(KEY_PART, 'g');
  for (const m of text.matchAll(re)) {
    const p = m[0];
    if (p.startsWith('"')) {
      try {
        parts.push(JSON.parse(p) as string);
      } catch {
        parts.push(p.slice(1, -1));
      }
    } else if (p.startsWith("'")) parts.push(p.slice(1, -1));
    else parts.push(p);
  }
  return parts;
}

export class KeyLines {
  private readonly keys = new Map<string, number>();
  private readonly headers = new Map<string, number>();

  constructor(source: string) {
    try {
      this.scan(source);
    } catch {
      // Locating lines is a nicety: a scanner bug must never turn into a config failure.
    }
  }

  private scan(source: string): void {
    const arrayCounts = new Map<string, number>(); // resolved array path -> elements seen
    let current = '';
    let inMultiline: string | undefined; // `"""` or `'''` while inside a multi-line string
    const lines = source.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const text = lines[i]!;
      const lineNo = i + 1;
      if (inMultiline) {
        if (countOf(text, inMultiline) % 2 === 1) inMultiline = undefined;
        continue;
      }
      const arr = ARRAY_HEADER_RE.exec(text);
      const tbl = arr ? null : TABLE_HEADER_RE.exec(text);
      if (arr || tbl) {
        const segs = splitKey((arr ?? tbl)![1]!);
        // Each prefix that names an array of tables refers to its latest element.
        let resolved = '';
        for (let s = 0; s < segs.length; s++) {
          resolved += resolved ? `.${segs[s]}` : segs[s];
          const isLast = s === segs.length - 1;
          if (isLast && arr) {
            const n = (arrayCounts.get(resolved) ?? 0) + 1;
            arrayCounts.set(resolved, n);
            resolved += `[${n - 1}]`;
          } else if (arrayCounts.has(resolved)) {
            resolved += `[${arrayCounts.get(resolved)! - 1}]`;
          }
        }
        current = resolved;
        if (!this.headers.has(current)) this.headers.set(current, lineNo);
        continue;
      }
      const kv = KEY_RE.exec(text);
      if (!kv) continue;
      const segs = splitKey(kv[1]!);
      let table = current;
      for (const seg of segs) {
        const id = `${table}\0${seg}`;
        if (!this.keys.has(id)) this.keys.set(id, lineNo);
        table = table ? `${table}.${seg}` : seg;
      }
      // A multi-line string opened on this line and not closed on it.
      const rest = text.slice(kv[0].length);
      for (const q of ['"""', "'''"]) {
        if (countOf(rest, q) % 2 === 1) inMultiline = q;
      }
    }
  }

  /** Line of `key` in the table at `path`, else of the nearest enclosing key or header; 1 if unknown. */
  line(path: TomlPath, key?: string): number {
    const p = pathString(path);
    if (key !== undefined) {
      // `key = ...`, or a `[key]` / `[[key]]` header of a sub-table.
      const l =
        this.keys.get(`${p}\0${key}`) ??
        this.headers.get(pathString([...path, key])) ??
        this.headers.get(pathString([...path, key, 0]));
      if (l) return l;
    }
    const h = this.headers.get(p);
    if (h) return h;
    if (path.length === 0) return 1;
    const last = path[path.length - 1]!;
    const parent = path.slice(0, -1);
    return typeof last === 'string' ? this.line(parent, last) : this.line(parent);
  }

  /** Line of the header `[path]` / `[[path]]`, if the table has one. */
  header(path: TomlPath): number | undefined {
    return this.headers.get(pathString(path));
  }
}

function countOf(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}
