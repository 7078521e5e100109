// The kubelet pod source: poll the kubelet's /pods (a PodList of the pods it runs, static ones
// included) every few seconds, with the same TLS and token settings as the kubelet scrape. Needs
// `get` on nodes/pods when the kubelet authorizes fine-grained (beta and on by default from 1.33),
// else nodes/proxy, which nodegraf's RBAC never grants: see docs/kubernetes.md.
import { errorMessage } from '../errno.js';
import type { Logger } from '../log.js';
import { TargetClient } from '../scrape/client.js';
import { ScrapeError } from '../scrape/errors.js';
import { parsePod, type Pod } from './pod.js';
import type { PodView } from './view.js';

export interface KubeletPodsOptions {
  /** e.g. https://127.0.0.1:10250 */
  url: string;
  bearerTokenFile: string;
  caFile: string;
  insecureSkipVerify: boolean;
  pollMs: number;
  userAgent: string;
}

export class KubeletPodSource {
  private readonly client: TargetClient;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly opts: KubeletPodsOptions,
    private readonly view: PodView,
    private readonly log: Logger,
  ) {
    const url = new URL('/pods', opts.url.replace(/\/+$/, '') + '/');
    this.client = new TargetClient(url, {
      timeoutMs: Math.max(5000, opts.pollMs),
      bodySizeLimit: 64 << 20,
      tls: { useTls: true, caFile: opts.caFile || undefined, insecureSkipVerify: opts.insecureSkipVerify },
      bearerTokenFile: opts.bearerTokenFile || undefined,
      headers: { Accept: 'application/json' },
      userAgent: opts.userAgent,
    });
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.poll().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.opts.pollMs);
      });
    };
    tick();
  }

  /** One poll: the view is replaced by the list, or keeps its last good state and shows the error. */
  async poll(): Promise<void> {
    try {
      const { body } = await this.client.fetch();
      const list = JSON.parse(body.toString('utf8')) as { items?: unknown[] };
      if (!Array.isArray(list.items)) throw new Error('not a PodList (no items)');
      const pods: Pod[] = [];
      for (const item of list.items) {
        const p = parsePod(item);
        if (p) pods.push(p);
      }
      const wasFailing = this.view.status.lastError !== '';
      this.view.replace(pods);
      if (wasFailing) this.log.info('pod view: kubelet /pods answers again');
    } catch (err) {
      if (this.stopped) return;
      const e =
        err instanceof ScrapeError ? err : new ScrapeError('other', `kubelet /pods: ${errorMessage(err)}`);
      // one log line per distinct error, not one per poll
      if (e.message !== this.view.status.lastError)
        this.log.warn({ error: e.message, hint: e.hint || undefined }, 'pod view: kubelet /pods failed');
      this.view.fail(e.message, e.hint);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.client.abort();
    await this.running?.catch(() => undefined);
    await this.client.close();
  }
}
