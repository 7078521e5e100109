// `doctor`: what the agent's ServiceAccount may do (SelfSubjectAccessReview), against what the
// configuration needs — before a dashboard is empty — and what it should not have (nodes/proxy).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/types.js';
import { AccessReviewError, rbacName, reviewAccess, type AccessTarget } from '../kube/access.js';
import { VERSION } from '../version.js';
import type { Diagnosis } from './doctor.js';

/** The kit's RBAC manifest, where it is beside the program (a checkout or the npm package's tree). */
const KIT_RBAC = fileURLToPath(new URL('../../deploy/kubernetes/rbac.yaml', import.meta.url));
const KIT_RBAC_NAME = 'deploy/kubernetes/rbac.yaml';

let kitRbacLines: string[] | undefined;

/** `deploy/kubernetes/rbac.yaml:18` for the line that names `resource`, or the file alone. */
function kitLine(resource: string): string {
  if (!existsSync(KIT_RBAC)) return KIT_RBAC_NAME;
  const lines = (kitRbacLines ??= readFileSync(KIT_RBAC, 'utf8').split('\n'));
  const i = lines.findIndex((l) => !l.trim().startsWith('#') && l.includes(`"${resource}"`));
  return i < 0 ? KIT_RBAC_NAME : `${KIT_RBAC_NAME}:${i + 1}`;
}

interface Need extends AccessTarget {
  /** What breaks without it. */
  breaks: string;
}

/** What the configuration needs of the API server's RBAC. */
function needs(config: Config): Need[] {
  const out: Need[] = [];
  const kubelet = config.inputs.some((i) =>
    i.instances.some((inst) => inst.urls.some((u) => /:10250\b/.test(u.shown))),
  );
  if (kubelet || config.podMetadata.enable)
    out.push({
      verb: 'get',
      resource: 'nodes',
      subresource: 'metrics',
      breaks:
        "the kubelet's /metrics, /metrics/cadvisor, /metrics/resource and /metrics/probes answer 403: the kubelet and container dashboards stay empty",
    });
  if (config.podMetadata.enable && config.podMetadata.source === 'apiserver') {
    for (const verb of ['list', 'watch'])
      out.push({
        verb,
        resource: 'pods',
        breaks:
          'the pod view gets no pods: no workload or pod labels on container series, no pod health series',
      });
  }
  if (config.podMetadata.enable && config.podMetadata.source === 'kubelet')
    out.push({
      verb: 'get',
      resource: 'nodes',
      subresource: 'pods',
      breaks: "the kubelet's /pods answers 403: no pod view, no pod labels, no pod health series",
    });
  return out;
}

const PROXY: AccessTarget = { verb: 'get', resource: 'nodes', subresource: 'proxy' };

/**
 * The access review, when there is an API server to ask (in a pod, or `[pod_metadata]
 * apiserver_url`): one diagnosis per needed permission, and a warning when nodes/proxy is granted.
 */
export async function diagnoseAccess(config: Config): Promise<Diagnosis[]> {
  const pm = config.podMetadata;
  if (!pm.apiserverUrl || !pm.bearerTokenFile) return [];
  const want = needs(config);
  const subject = (t: AccessTarget) => `RBAC ${t.verb} ${rbacName(t)}`;
  let answers;
  try {
    answers = await reviewAccess(
      {
        url: pm.apiserverUrl,
        bearerTokenFile: pm.bearerTokenFile,
        caFile: pm.tlsCa,
        insecureSkipVerify: pm.insecureSkipVerify,
        userAgent: `nodegraf/${VERSION} (doctor)`,
      },
      [...want, PROXY],
    );
  } catch (err) {
    const e = err instanceof AccessReviewError ? err : new AccessReviewError(String(err), '');
    return [
      { ok: false, subject: 'RBAC (SelfSubjectAccessReview)', message: e.message, hint: e.hint || undefined },
    ];
  }
  const out: Diagnosis[] = [];
  want.forEach((w, i) => {
    const a = answers[i]!;
    if (a.allowed)
      out.push({ ok: true, subject: subject(w), message: `allowed${a.reason ? ` (${a.reason})` : ''}` });
    else
      out.push({
        ok: false,
        subject: subject(w),
        message: `denied: ${w.breaks}`,
        hint: `grant it to this ServiceAccount: a ClusterRole rule { apiGroups: [""], resources: ["${rbacName(w)}"], verbs: ["${w.verb}"] } (the kit's: ${kitLine(rbacName(w))})`,
      });
  });
  const proxy = answers[want.length]!;
  if (proxy.allowed) {
    const role = /ClusterRole "([^"]+)"/.exec(proxy.reason)?.[1];
    out.push({
      ok: true,
      warn: true,
      subject: subject(PROXY),
      message: `granted${proxy.reason ? ` (${proxy.reason})` : ''}: nodes/proxy lets this ServiceAccount exec into every container of the node (the kubelet authorizes exec, attach and portforward through it; CIS Kubernetes Benchmark 5.1.14). nodegraf needs only nodes/metrics${pm.source === 'kubelet' ? ' and nodes/pods' : ''}`,
      hint: `remove "nodes/proxy" from ${role ? `ClusterRole ${role} (kubectl edit clusterrole ${role})` : 'the ClusterRole bound to this ServiceAccount'}; the kit grants it nowhere (${kitLine('nodes/metrics')} is its kubelet rule). On kubelets without fine-grained authorization (before 1.33, or KubeletFineGrainedAuthz off) /pods is authorized through nodes/proxy only: with the kubelet pod source there, switch to [pod_metadata] source = "apiserver" before removing it`,
    });
  } else out.push({ ok: true, subject: subject(PROXY), message: 'not granted (as it should be)' });
  return out;
}
