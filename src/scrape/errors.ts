// Scrape failures, classified so that logs, `--test`, the status page and `doctor` all say the same
// thing: what happened, its likely cause and the fix.
import { errnoCode, errorMessage, networkFailure } from '../errno.js';

export type ScrapeErrorKind =
  | 'refused'
  | 'dns'
  | 'timeout'
  | 'tls-cert'
  | 'http-to-https'
  | 'https-to-http'
  | 'reset'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'http-status'
  | 'body-too-large'
  | 'parse'
  | 'limit'
  | 'token-file'
  | 'other';

export class ScrapeError extends Error {
  constructor(
    readonly kind: ScrapeErrorKind,
    message: string,
    /** Likely cause and fix, one sentence. */
    readonly hint = '',
    readonly status = 0,
  ) {
    super(message);
    this.name = 'ScrapeError';
  }

  /** Message and hint on one line. */
  describe(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }
}

/** Which kubelet authorization a path needs: named in 403 hints. */
export function kubeletResourceFor(path: string): string {
  if (path.startsWith('/metrics')) return 'nodes/metrics';
  if (path.startsWith('/stats')) return 'nodes/stats';
  if (path.startsWith('/pods')) return 'nodes/pods';
  if (path.startsWith('/healthz')) return 'nodes/healthz';
  return 'nodes/proxy';
}

/** Turn a thrown network/TLS error into a ScrapeError with a hint. */
export function classifyNetworkError(err: unknown, url: URL, timeoutMs: number): ScrapeError {
  if (err instanceof ScrapeError) return err;
  const code = errnoCode(err) ?? '';
  const msg = errorMessage(err);
  const hostPort = url.host;
  switch (networkFailure(err)) {
    case 'timeout':
      return new ScrapeError(
        'timeout',
        `timeout: no complete answer from ${hostPort} within ${timeoutMs} ms`,
        'the target is slow or hung; raise `timeout` in the instance, or check the target',
      );
    case 'refused':
      return new ScrapeError(
        'refused',
        `connection refused by ${hostPort}`,
        url.port === '10250' || url.port === '10249'
          ? 'nothing listens there: the kubelet/kube-proxy may bind to the node IP, not 127.0.0.1 — use $HOSTIP in the URL, or set kube-proxy metricsBindAddress to 0.0.0.0:10249'
          : 'nothing listens on that host and port',
      );
    case 'dns':
      return new ScrapeError('dns', `cannot resolve host ${url.hostname}`, 'check the URL host name');
    case 'tls-name':
      return new ScrapeError(
        'tls-cert',
        `TLS certificate of ${hostPort} is for another name: ${msg}`,
        'the certificate is valid but names another host: set tls_server_name to a name it was issued for (or scrape that name); insecure_skip_verify would also skip the check that it is the right server',
      );
    case 'redirect-loop':
      return new ScrapeError(
        'http-status',
        `redirect loop at ${hostPort}${url.pathname}: the target keeps redirecting`,
        'point the URL at the final address (after at most 3 redirects); check the path and http/https',
      );
    case 'tls-trust':
      return new ScrapeError(
        'tls-cert',
        `TLS certificate of ${hostPort} not trusted: ${code || msg}`,
        'the kubelet serves a self-signed certificate: set insecure_skip_verify = true, or tls_ca to the CA that signed it',
      );
    case 'tls-handshake':
      return new ScrapeError(
        'https-to-http',
        `TLS handshake with ${hostPort} failed: ${msg}`,
        'the server does not speak TLS here: use http:// and use_tls = false',
      );
    case 'reset':
      return new ScrapeError(
        url.protocol === 'http:' ? 'http-to-https' : 'reset',
        `connection closed by ${hostPort}: ${msg}`,
        url.protocol === 'http:'
          ? 'if this port serves HTTPS (the kubelet on 10250 does), use https:// and use_tls = true'
          : '',
      );
    default:
      return new ScrapeError('other', `${code ? code + ': ' : ''}${msg}`);
  }
}

/** Explain a non-200 answer. `body` is the start of the response body (for the kubelet's messages). */
export function classifyStatus(status: number, body: string, url: URL, tokenNote: string): ScrapeError {
  if (status === 400 && body.includes('Client sent an HTTP request to an HTTPS server')) {
    return new ScrapeError(
      'http-to-https',
      `server speaks HTTPS: ${url.host} answered "Client sent an HTTP request to an HTTPS server"`,
      'use https:// in the URL and use_tls = true (add insecure_skip_verify = true or tls_ca for the kubelet certificate)',
      status,
    );
  }
  if (status === 401) {
    return new ScrapeError(
      'unauthorized',
      `401 Unauthorized from ${url.host}${tokenNote ? ': ' + tokenNote : ''}`,
      'the bearer token is missing, invalid or expired: check bearer_token_file (the projected ServiceAccount token rotates; it is re-read every scrape)',
      status,
    );
  }
  if (status === 403) {
    const resource = kubeletResourceFor(url.pathname);
    // A kubelet without fine-grained authorization (before 1.33, or the gate off) checks /pods as
    // nodes/proxy, and says so: granting that would allow exec into every container of the node.
    const proxyOnly = resource === 'nodes/pods' && /subresource=\(?proxy/.test(body);
    return new ScrapeError(
      'forbidden',
      `403 Forbidden from ${url.host}${url.pathname}: ${body.trim().slice(0, 200)}`,
      proxyOnly
        ? 'this kubelet authorizes /pods as nodes/proxy (no fine-grained kubelet authorization): do not grant nodes/proxy, which allows exec into every container; use [pod_metadata] source = "apiserver" (RBAC: list, watch on pods)'
        : `RBAC: the ServiceAccount's ClusterRole needs the rule {apiGroups: [""], resources: ["${resource}"], verbs: ["get"]}`,
      status,
    );
  }
  if (status === 404) {
    return new ScrapeError(
      'not-found',
      `404 Not Found: ${url.pathname} on ${url.host}`,
      'wrong path in the URL',
      status,
    );
  }
  return new ScrapeError(
    'http-status',
    `HTTP ${status} from ${url.host}${url.pathname}${body ? ': ' + body.trim().slice(0, 200) : ''}`,
    '',
    status,
  );
}
