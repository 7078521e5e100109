// What the agent's ServiceAccount may do, asked of the API server itself: a
// SelfSubjectAccessReview per permission (authorization.k8s.io/v1; every authenticated identity
// may ask about itself). `doctor` uses it to say which rule is missing before a dashboard is
// empty, and which rule is too much (nodes/proxy).
import { Agent } from '../lean-imports.js';
import { connectOptions } from '../config/tls.js';
import { errnoCode, errorMessage } from '../errno.js';
import { readBearerToken } from '../scrape/client.js';

export interface AccessTarget {
  verb: string;
  resource: string;
  subresource?: string;
}

export interface AccessAnswer extends AccessTarget {
  allowed: boolean;
  /** The authorizer's reason (RBAC names the binding and role that allow it), '' when none. */
  reason: string;
}

export interface AccessOptions {
  url: string;
  bearerTokenFile: string;
  caFile: string;
  insecureSkipVerify: boolean;
  userAgent: string;
  timeoutMs?: number;
}

/** Thrown when the review itself cannot be made (unreachable, 401, 403 on reviews): message and fix. */
export class AccessReviewError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** Ask the API server whether this ServiceAccount may do each of `targets`, in order. */
export async function reviewAccess(o: AccessOptions, targets: AccessTarget[]): Promise<AccessAnswer[]> {
  const agent = new Agent({
    connect: connectOptions(
      { useTls: true, caFile: o.caFile || undefined, insecureSkipVerify: o.insecureSkipVerify },
      10_000,
    ),
  });
  try {
    const token = await readBearerToken(o.bearerTokenFile);
    const out: AccessAnswer[] = [];
    for (const t of targets) {
      const body = JSON.stringify({
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: {
          resourceAttributes: {
            verb: t.verb,
            resource: t.resource,
            ...(t.subresource ? { subresource: t.subresource } : {}),
          },
        },
      });
      let res;
      try {
        res = await agent.request({
          origin: o.url,
          path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            accept: 'application/json',
            'user-agent': o.userAgent,
          },
          body,
          signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
        });
      } catch (err) {
        throw new AccessReviewError(
          `${o.url}: ${errnoCode(err) ?? errorMessage(err)}`,
          'the API server is not reachable from here: check [pod_metadata] apiserver_url (in a pod: KUBERNETES_SERVICE_HOST)',
        );
      }
      const text = await res.body.text();
      if (res.statusCode === 401)
        throw new AccessReviewError(
          `${o.url}: 401 Unauthorized`,
          `the token in ${o.bearerTokenFile} is missing, invalid or expired`,
        );
      if (res.statusCode !== 201 && res.statusCode !== 200)
        throw new AccessReviewError(
          `${o.url}: ${res.statusCode} on selfsubjectaccessreviews: ${text.slice(0, 200)}`,
          'every authenticated identity may review its own access (ClusterRole system:basic-user); check that the cluster grants it',
        );
      const status = (JSON.parse(text) as { status?: { allowed?: boolean; reason?: string } }).status ?? {};
      out.push({ ...t, allowed: status.allowed === true, reason: status.reason ?? '' });
    }
    return out;
  } finally {
    await agent.close();
  }
}

/** `nodes/metrics`, as RBAC writes a resource with its subresource. */
export function rbacName(t: AccessTarget): string {
  return t.subresource ? `${t.resource}/${t.subresource}` : t.resource;
}
