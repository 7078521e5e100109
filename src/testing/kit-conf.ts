// The deploy kit's configuration (deploy/kubernetes/conf), as the DaemonSet's ConfigMaps mount it,
// pointed at a node simulator: the pod view from the simulated kubelet's /pods, the kubelet and
// kube-proxy at the simulator's ports. Used by the package and image tests.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Simulator } from '../sim/simulator.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * Copy the kit's conf into `dir`, pointed at `sim`. `tokenFile` and `queueDir` are the paths the
 * agent will see (inside a container they differ from the host's).
 */
export function kitConfForSimulator(sim: Simulator, dir: string, tokenFile: string, queueDir: string): void {
  cpSync(join(ROOT, 'deploy', 'kubernetes', 'conf'), dir, { recursive: true });
  const u = new URL(sim.kubeletUrl);
  const kp = new URL(sim.kubeProxyUrl);
  writeFileSync(
    join(dir, 'config.toml'),
    readFileSync(join(dir, 'config.toml'), 'utf8')
      .replace(
        'source = "apiserver"',
        `source = "kubelet"\nkubelet_url = "${sim.kubeletUrl}"\nbearer_token_file = "${tokenFile}"\ninsecure_skip_verify = true`,
      )
      .replace('/var/lib/nodegraf/queue', queueDir),
  );
  writeFileSync(
    join(dir, 'input.kubelet', 'kubelet.toml'),
    `host = "${u.host}"\nbearer_token_file = "${tokenFile}"\n`,
  );
  writeFileSync(join(dir, 'input.kube_proxy', 'kube_proxy.toml'), `host = "${kp.host}"\n`);
}

/** What `--test --once` of the kit's configuration against the simulator must print. */
export const KIT_ONCE_EXPECTATIONS = {
  stderr: [
    // the kit scrapes the agent's own /metrics, which --test does not serve: skipped, said so
    /note: not scraping http:\/\/127\.0\.0\.1:9101\/metrics/,
    /job kube-proxy\): up/,
    /job kubelet\): up/,
    /job cadvisor\): up/,
    /job pod-health\): up/,
  ],
  stdout: [
    /container_cpu_usage_seconds_total .*label_dept=retail .*workload=web workload_kind=Deployment/,
    /kube_pod_container_status_last_terminated_reason .*reason=OOMKilled/,
  ],
};
