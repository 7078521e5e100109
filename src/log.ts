// Logging: pino, JSON or a compact text line. Secrets never reach a log line: credentials are
// redacted by key wherever they appear.
import { Writable } from 'node:stream';
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

const REDACT = [
  'authorization',
  'password',
  'token',
  'bearer_token_string',
  'basic_auth_pass',
  '*.authorization',
  '*.password',
  '*.token',
  'headers.authorization',
  '*.headers.authorization',
];

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** Renders pino's JSON lines as `time LEVEL msg key=value ...`. */
function textStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          const o = JSON.parse(line) as Record<string, unknown>;
          const { time, level, msg, pid: _p, hostname: _h, ...rest } = o;
          const kv = Object.entries(rest)
            .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s|"/.test(v) ? v : JSON.stringify(v)}`)
            .join(' ');
          out.write(
            `${new Date(Number(time)).toISOString()} ${LEVELS[Number(level)] ?? String(level).toUpperCase()} ${msg ?? ''}${kv ? ' ' + kv : ''}\n`,
          );
        } catch {
          out.write(line + '\n');
        }
      }
      cb();
    },
  });
}

export function createLogger(
  level: string,
  format: 'text' | 'json',
  out: NodeJS.WritableStream = process.stderr,
): Logger {
  const opts = {
    level,
    redact: { paths: REDACT, censor: '<secret>' },
    base: undefined,
    // "level":"warn", not 40: readable in JSON logs and matched by log pipelines without a table
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return format === 'json' ? pino(opts, out as never) : pino(opts, textStream(out));
}
