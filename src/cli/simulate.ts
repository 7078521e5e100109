// `nodegraf simulate`: a worker node's endpoints on 127.0.0.1 until Ctrl-C.
import { writeFileSync } from 'node:fs';
import { startSimulator } from '../sim/simulator.js';
import { demoToken } from './demo-token.js';

export interface SimulateOptions {
  host: string;
  kubeProxyPort: string;
  kubeProxyHealthPort: string;
  kubeletPort: string;
  pods: string;
  series: string;
  token?: string[];
  tokenFile?: string;
  cert?: string;
  key?: string;
  churn?: string;
}

export async function runSimulate(o: SimulateOptions): Promise<void> {
  if (!/^(127\.\d+\.\d+\.\d+|localhost|::1)$/.test(o.host)) {
    throw new Error(`--host ${o.host}: the simulator only listens on loopback addresses`);
  }
  const tokens = o.token?.length ? o.token : [demoToken()];
  if (o.tokenFile) writeFileSync(o.tokenFile, tokens[0] + '\n', { mode: 0o600 });
  const sim = await startSimulator({
    host: o.host,
    kubeProxyPort: Number(o.kubeProxyPort),
    kubeProxyHealthPort: Number(o.kubeProxyHealthPort),
    kubeletPort: Number(o.kubeletPort),
    pods: Number(o.pods),
    extraSeries: Number(o.series),
    churnPerMinute: Number(o.churn ?? 0),
    tokens,
    certFile: o.cert,
    keyFile: o.key,
  });
  process.stdout.write(
    [
      `kube-proxy   ${sim.kubeProxyUrl} (health ${sim.kubeProxyHealthUrl})`,
      `kubelet      ${sim.kubeletUrl}/metrics, /metrics/cadvisor, /pods, /healthz (HTTPS, bearer token)`,
      o.tokenFile
        ? `token file   ${o.tokenFile}`
        : `token        ${tokens[0].slice(0, 12)}… (use --token-file to write it out)`,
      'Ctrl-C to stop',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sim.close();
}
