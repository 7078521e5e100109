/* eslint-disable @typescript-eslint/no-explicit-any -- rendered YAML is walked as plain JSON */
// The deploy kit (deploy/kubernetes, deploy/example-overlay): rendered by kubectl's kustomize,
// every object validated against the Kubernetes API schemas (kubernetes-models), the rendered
// ConfigMaps loaded by nodegraf's own config loader, and the RBAC held to least privilege.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../config/load.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

function kubectlMissing(): string | undefined {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return undefined;
  } catch {
    if (process.env.CI === 'true') throw new Error('kubectl not found: the kit must be rendered in CI');
    return 'kubectl not found (it renders the kustomize kit)';
  }
}

type Obj = { apiVersion: string; kind: string; metadata: { name: string }; [k: string]: unknown };

function render(dir: string): Obj[] {
  const out = execFileSync('kubectl', ['kustomize', resolve(ROOT, dir)], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJS() as Obj);
}

/** The kubernetes-models class of an object, e.g. apps/v1 DaemonSet -> kubernetes-models/apps/v1/DaemonSet. */
async function validate(o: Obj): Promise<void> {
  const mod = (await import(`kubernetes-models/${o.apiVersion}/${o.kind}`)) as Record<
    string,
    new (x: unknown) => { validate(): void }
  >;
  new mod[o.kind](o).validate();
}

const byKind = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);

describe('the deploy kit', { skip: kubectlMissing() }, () => {
  for (const dir of ['deploy/kubernetes', 'deploy/example-overlay']) {
    test(`${dir}: renders, and every object validates against the Kubernetes API schemas`, async () => {
      const objs = render(dir);
      assert.deepEqual(objs.map((o) => o.kind).sort(), [
        'ClusterRole',
        'ClusterRoleBinding',
        'ConfigMap',
        'ConfigMap',
        'ConfigMap',
        'ConfigMap',
        'DaemonSet',
        'Namespace',
        'ResourceQuota',
        'ServiceAccount',
      ]);
      for (const o of objs) await validate(o);
    });
  }

  test("the rendered ConfigMaps are a configuration nodegraf loads: kubelet, cAdvisor, the kubelet's resource and probes endpoints, kube-proxy, pod metadata", () => {
    const objs = render('deploy/example-overlay');
    const conf = mkdtempSync(join(tmpdir(), 'nodegraf-kit-'));
    const ds = byKind(objs, 'DaemonSet')[0] as unknown as {
      spec: {
        template: {
          spec: {
            containers: Array<{ volumeMounts: Array<{ name: string; mountPath: string }> }>;
            volumes: Array<{ name: string; configMap?: { name: string } }>;
          };
        };
      };
    };
    const pod = ds.spec.template.spec;
    // mount every ConfigMap where the DaemonSet mounts it
    for (const m of pod.containers[0].volumeMounts) {
      const v = pod.volumes.find((x) => x.name === m.name)!;
      if (!v.configMap) continue;
      const cm = objs.find(
        (o) => o.kind === 'ConfigMap' && o.metadata.name === v.configMap!.name,
      ) as unknown as {
        data: Record<string, string>;
      };
      assert.ok(cm, `ConfigMap ${v.configMap.name} of volume ${m.name}`);
      const dir = join(conf, m.mountPath.replace(/^\/etc\/nodegraf\/conf\/?/, ''));
      mkdirSync(dir, { recursive: true });
      for (const [file, text] of Object.entries(cm.data)) writeFileSync(join(dir, file), text);
    }
    const { config, warnings } = loadConfig(conf, {
      env: {
        HOSTNAME: 'node-1',
        HOSTIP: '10.0.0.7',
        KUBERNETES_SERVICE_HOST: '10.96.0.1',
        KUBERNETES_SERVICE_PORT: '443',
      },
    });
    assert.deepEqual(warnings, []);
    const urls = config.inputs.flatMap((i) =>
      i.instances.flatMap((x) => x.urls.map((u) => `${x.labels.job} ${u}`)),
    );
    assert.deepEqual(urls.sort(), [
      'cadvisor https://127.0.0.1:10250/metrics/cadvisor',
      'kube-proxy http://127.0.0.1:10249/metrics',
      'kubelet https://127.0.0.1:10250/metrics',
      'kubelet-probes https://127.0.0.1:10250/metrics/probes',
      'kubelet-resource https://127.0.0.1:10250/metrics/resource',
      'nodegraf http://127.0.0.1:9101/metrics',
    ]);
    assert.equal(config.global.labels.cluster, 'prod-1');
    assert.equal(config.writers[0].url.reveal(), 'http://victoria-metrics.monitoring.svc:8428/api/v1/write');
    assert.equal(config.podMetadata.enable, true);
    assert.equal(config.podMetadata.source, 'apiserver');
    assert.equal(config.podMetadata.nodeName, 'node-1');
    assert.equal(config.podMetadata.apiserverUrl, 'https://10.96.0.1:443');
    assert.equal(config.queue.dir, '/var/lib/nodegraf/queue');
  });

  /** Every `verb resource` the rendered roles grant, after checking none is forbidden. */
  function granted(objs: Obj[], where: string): string[] {
    const roles = [...byKind(objs, 'ClusterRole'), ...byKind(objs, 'Role')] as unknown as Array<{
      rules: Array<{
        apiGroups?: string[];
        resources?: string[];
        verbs: string[];
        nonResourceURLs?: string[];
      }>;
    }>;
    assert.ok(roles.length > 0);
    const out: string[] = [];
    for (const r of roles)
      for (const rule of r.rules) {
        const all = [
          ...(rule.apiGroups ?? []),
          ...(rule.resources ?? []),
          ...rule.verbs,
          ...(rule.nonResourceURLs ?? []),
        ];
        assert.ok(!all.includes('*'), `${where}: a wildcard in ${JSON.stringify(rule)}`);
        for (const res of rule.resources ?? []) {
          assert.notEqual(res, 'nodes/proxy', `${where}: nodes/proxy authorizes exec into every container`);
          assert.notEqual(res, 'secrets', `${where}: secrets`);
          for (const v of rule.verbs) out.push(`${v} ${res}`);
        }
      }
    return out.sort();
  }

  test('RBAC: no nodes/proxy, no secrets, no wildcard; only the rules nodegraf uses', () => {
    for (const dir of ['deploy/kubernetes', 'deploy/example-overlay']) {
      assert.deepEqual(granted(render(dir), dir), ['get nodes/metrics', 'list pods', 'watch pods']);
    }
  });

  test('components/kubelet-pod-source: get nodes/pods instead of list/watch pods, and the kubelet source loads', async () => {
    // An overlay as a user writes it: the base, the component, and source = "kubelet".
    const dir = mkdtempSync(join(tmpdir(), 'nodegraf-kit-kubelet-'));
    const base = readFileSync(join(ROOT, 'deploy/kubernetes/conf/config.toml'), 'utf8');
    const conf = base.replace('source = "apiserver"', 'source = "kubelet"');
    assert.notEqual(conf, base);
    writeFileSync(join(dir, 'config.toml'), conf);
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      [
        'resources:',
        `  - ${relative(dir, join(ROOT, 'deploy/kubernetes'))}`,
        'components:',
        `  - ${relative(dir, join(ROOT, 'deploy/components/kubelet-pod-source'))}`,
        'configMapGenerator:',
        '  - name: nodegraf-config',
        '    behavior: replace',
        '    files: [config.toml]',
        '',
      ].join('\n'),
    );
    const objs = render(dir);
    for (const o of objs) await validate(o);
    assert.deepEqual(granted(objs, dir), ['get nodes/metrics', 'get nodes/pods']);
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('nodegraf-config')) as
      (Obj & { data: Record<string, string> }) | undefined;
    const confDir = join(dir, 'conf');
    mkdirSync(confDir);
    writeFileSync(join(confDir, 'config.toml'), cm!.data['config.toml']);
    // no HOSTNAME and no KUBERNETES_SERVICE_HOST: the kubelet source needs neither
    const { config } = loadConfig(confDir, { env: {} });
    assert.equal(config.podMetadata.source, 'kubelet');
    assert.equal(config.podMetadata.kubeletUrl, 'https://127.0.0.1:10250');
  });

  /** An overlay as a user writes it: the base, `components`, and `extra` kustomization lines. */
  function overlay(name: string, components: string[], extra: string[] = []): string {
    const dir = mkdtempSync(join(tmpdir(), `nodegraf-kit-${name}-`));
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      [
        'resources:',
        `  - ${relative(dir, join(ROOT, 'deploy/kubernetes'))}`,
        ...(components.length ? ['components:'] : []),
        ...components.map((c) => `  - ${relative(dir, join(ROOT, 'deploy/components', c))}`),
        ...extra,
        '',
      ].join('\n'),
    );
    return dir;
  }

  type PodSpec = {
    initContainers?: Array<{ name: string; image: string; securityContext: any }>;
    containers: Array<{ name: string; image: string; securityContext: any }>;
    securityContext: any;
    volumes: any[];
  };
  const podSpec = (objs: Obj[]) => (byKind(objs, 'DaemonSet')[0] as any).spec.template.spec as PodSpec;
  /** The containers that run as root: uid 0 set on the container, or on the pod and not overridden. */
  const rootContainers = (s: PodSpec) =>
    [...(s.initContainers ?? []), ...s.containers].filter(
      (c) => (c.securityContext?.runAsUser ?? s.securityContext?.runAsUser) === 0,
    );

  test('the image is one line of the overlay: images newName moves every container of the DaemonSet', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'nodegraf-kit-image-')), 'deploy');
    cpSync(join(ROOT, 'deploy'), dir, { recursive: true });
    const k = join(dir, 'example-overlay', 'kustomization.yaml');
    const before = readFileSync(k, 'utf8');
    const after = before.replace(/^(\s+newName:) \S+.*$/m, '$1 registry.example.com/platform/nodegraf');
    assert.equal(after.split('\n').filter((l, i) => l !== before.split('\n')[i]).length, 1);
    writeFileSync(k, after);
    const s = podSpec(render(join(dir, 'example-overlay')));
    const images = [...(s.initContainers ?? []), ...s.containers].map((c) => c.image);
    assert.deepEqual(new Set(images), new Set(['registry.example.com/platform/nodegraf:0.1.0']));
  });

  test('least privilege: one root container, the init that chowns the hostPath queue, with CHOWN alone', () => {
    const s = podSpec(render('deploy/kubernetes'));
    const root = rootContainers(s);
    assert.deepEqual(
      root.map((c) => c.name),
      ['queue-owner'],
    );
    assert.deepEqual(root[0].securityContext.capabilities, { drop: ['ALL'], add: ['CHOWN'] });
    assert.equal(root[0].securityContext.readOnlyRootFilesystem, true);
    assert.equal(root[0].securityContext.allowPrivilegeEscalation, false);
  });

  test('components/queue-in-pod: no root container at all, the queue in a sized emptyDir', async () => {
    const objs = render(overlay('queue-in-pod', ['queue-in-pod']));
    for (const o of objs) await validate(o);
    const s = podSpec(objs);
    assert.deepEqual(rootContainers(s), []);
    assert.equal(s.initContainers, undefined);
    const q = s.volumes.find((v) => v.name === 'queue');
    assert.equal(q.hostPath, undefined);
    assert.equal(q.emptyDir.sizeLimit, '1100Mi');
    assert.ok(!s.volumes.some((v) => v.hostPath), 'no hostPath left');
  });

  test('DaemonSet: node identity, host network, every taint, probes, hardening, heap sized to the limit', () => {
    const ds = byKind(render('deploy/kubernetes'), 'DaemonSet')[0] as unknown as {
      spec: {
        updateStrategy: { rollingUpdate: { maxUnavailable: number } };
        template: { spec: Record<string, any> };
      };
    };
    const s = ds.spec.template.spec;
    assert.equal(s.hostNetwork, true);
    assert.equal(s.dnsPolicy, 'ClusterFirstWithHostNet');
    assert.equal(s.priorityClassName, 'system-node-critical');
    assert.deepEqual(s.tolerations, [{ operator: 'Exists' }]);
    assert.equal(s.securityContext.runAsNonRoot, true);
    assert.equal(s.securityContext.seccompProfile.type, 'RuntimeDefault');
    assert.equal(ds.spec.updateStrategy.rollingUpdate.maxUnavailable, 1);
    const c = s.containers[0];
    const env = Object.fromEntries(
      c.env.map((e: any) => [e.name, e.valueFrom?.fieldRef?.fieldPath ?? e.value]),
    );
    assert.equal(env.HOSTNAME, 'spec.nodeName');
    assert.equal(env.HOSTIP, 'status.hostIP');
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    const limitMi = Number(/^(\d+)Mi$/.exec(c.resources.limits.memory)![1]);
    const heap = Number(/--max-old-space-size=(\d+)/.exec(env.NODE_OPTIONS)![1]);
    assert.equal(heap, limitMi * 0.75, 'V8 heap at 75 % of the memory limit');
    // admission: the namespace allows what the pod needs, and the critical priority class is allowed
    const objs = render('deploy/kubernetes');
    const ns = byKind(objs, 'Namespace')[0] as unknown as { metadata: { labels: Record<string, string> } };
    assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'privileged');
    const quota = byKind(objs, 'ResourceQuota')[0] as unknown as {
      metadata: { namespace: string };
      spec: { scopeSelector: { matchExpressions: Array<{ scopeName: string; values: string[] }> } };
    };
    assert.equal(quota.metadata.namespace, 'nodegraf');
    assert.deepEqual(quota.spec.scopeSelector.matchExpressions[0].values, [s.priorityClassName]);
    assert.equal(quota.spec.scopeSelector.matchExpressions[0].scopeName, 'PriorityClass');
    const queue = s.volumes.find((v: any) => v.name === 'queue');
    assert.equal(queue.hostPath.path, '/var/lib/nodegraf/queue');
    assert.ok(
      c.volumeMounts.some((m: any) => m.name === 'queue' && m.mountPath === '/var/lib/nodegraf/queue'),
    );
  });
});
