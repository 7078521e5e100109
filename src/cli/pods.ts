// Pod metadata for the commands that scrape (run, --test, demo): start the view's source and wait,
// bounded, for its first list, so that the first scrape is already enriched (SPEC §5).
import type { Config } from '../config/types.js';
import { PodMetadata } from '../kube/pod-metadata.js';
import type { Logger } from '../log.js';
import type { ManagerExtras } from '../scrape/manager.js';

/** How long the first scrape waits for the first pod list. */
export const FIRST_LIST_WAIT_MS = 5000;

export async function startPodMetadata(
  config: Config,
  log: Logger,
  o: { withHealth: boolean },
): Promise<{ pods: PodMetadata | undefined; extras: ManagerExtras }> {
  if (!config.podMetadata.enable) return { pods: undefined, extras: {} };
  const pods = new PodMetadata(config.podMetadata, config.global, log);
  pods.start();
  const synced = await pods.view.waitSynced(FIRST_LIST_WAIT_MS);
  if (!synced) {
    log.warn(
      {
        source: config.podMetadata.source,
        error: pods.status.lastError || undefined,
        hint: pods.status.lastHint || undefined,
      },
      'no pod list yet: scraping starts without pod metadata; series get it once the list arrives',
    );
  }
  const internal = o.withHealth && pods.health ? [pods.health] : [];
  return { pods, extras: { pods: pods.view, internal } };
}
