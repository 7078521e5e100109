// TLS settings of a target or writer (SPEC §3.2), as undici connect options. Files are read once,
// when the client is built (a reload re-reads them).
import { readFileSync } from 'node:fs';
import type { TlsOptions } from './types.js';

export function connectOptions(tls: TlsOptions, timeoutMs: number) {
  return {
    timeout: timeoutMs,
    rejectUnauthorized: !tls.insecureSkipVerify,
    ca: tls.caFile ? readFileSync(tls.caFile) : undefined,
    cert: tls.certFile ? readFileSync(tls.certFile) : undefined,
    key: tls.keyFile ? readFileSync(tls.keyFile) : undefined,
    servername: tls.serverName || undefined,
  };
}
