import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlFor, startKubeCluster, type KubeCluster, type Kubectl } from './support/kube-fixture.js';
import { k8sRequest } from './support/kube-raw.js';
import { startStack, type Stack } from './support/stack.js';

/*
 * Requests that do more than their verb says, through real kubectl (and raw HTTPS where kubectl
 * sends no such body) against the test double of an API server (tools/test-kube-apiserver; no real
 * API server can be installed here): a PUT that creates, credentials minted through the gateway's
 * service account, impersonation, and labels in bodies that are not plain JSON objects.
 */
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("k8s-connect") @k8s_service_account("gw/deployer")
permit (principal, action == Gateway::Action::"connect", resource) when { resource.type == "kubernetes" };
@id("k8s-read") permit (principal, action in Gateway::Action::"k8s:read", resource);
@id("k8s-write-default")
permit (principal, action in Gateway::Action::"k8s:write", resource) when { context has namespace && context.namespace == "default" };
// In prod, workloads change role bindings and config maps that exist; they create nothing there.
@id("prod-bindings-update") permit (principal, action == Gateway::Action::"k8s:update", resource)
  when { context has namespace && context.namespace == "prod" && context has apiResource && context.apiResource == "rolebindings" };
@id("prod-configmaps-patch") permit (principal, action == Gateway::Action::"k8s:patch", resource)
  when { context has namespace && context.namespace == "prod" && context has apiResource && context.apiResource == "configmaps" };
// Workloads may manage certificate signing requests (create, update); approving one is another matter.
@id("csr-write") permit (principal, action in Gateway::Action::"k8s:write", resource)
  when { context has apiGroup && context.apiGroup == "certificates.k8s.io" };
@id("no-privileged") @reason("privileged objects are for administrators")
forbid (principal, action in [Gateway::Action::"k8s:create", Gateway::Action::"k8s:update", Gateway::Action::"k8s:patch"], resource)
  when { context has objectLabels && context.objectLabels.contains("privileged=true") }
  unless { principal.gatewayRoles.contains("admin") };
`;

const AGENT_USER = 'system:serviceaccount:gw:agent';
/** kubectl create|replace -f; the double serves no OpenAPI documents, which kubectl's client-side validation wants. */
const FROM_FILE = (verb: string) => [verb, '--validate=false', '-f'];

describe('kubernetes: writes that create, credentials, impersonation, labels in every body', () => {
  let cluster: KubeCluster;
  let stack: Stack;
  let token: string;
  let adminToken: string;
  let kubectl: Kubectl;
  const dir = mkdtempSync(join(tmpdir(), 'gw-k8s-escalation-'));
  const file = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  const binding = (namespace: string, name: string, role = 'view') => ({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name, namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }],
  });
  const stored = (key: string) => cluster.api.store.objects.get(key) as { metadata: { labels?: Record<string, string> }; status?: { conditions?: { type: string }[] } } | undefined;
  const agentReads = (path: string) => cluster.api.requests.filter((r) => r.user === AGENT_USER && r.method === 'GET' && r.path === path);
  const raw = (method: string, path: string, body: string, contentType: string, as = token) =>
    k8sRequest(`${stack.k8s.server}/k8s/k8s${path}`, stack.k8s.certificateAuthority, as, { method, headers: { 'content-type': contentType }, body });
  async function requestEvents(): Promise<Record<string, unknown>[]> {
    const sessions = await stack.cp.request('GET', '/api/v1/sessions?resource=k8s&limit=200', { token: stack.admin });
    const events: Record<string, unknown>[] = [];
    for (const s of sessions.body.items as { id: string }[]) {
      const res = await stack.cp.request('GET', `/api/v1/sessions/${s.id}/events?limit=1000`, { token: stack.admin });
      events.push(...(res.body.items as { type: string; data: Record<string, unknown> }[]).filter((e) => e.type === 'k8s.request').map((e) => e.data));
    }
    return events;
  }

  beforeAll(async () => {
    cluster = await startKubeCluster();
    stack = await startStack({ policy: POLICY, resources: [cluster.resource('k8s', 'token-request')] });
    token = await stack.cp.token('ai-agent');
    adminToken = await stack.cp.token('security-admin');
    kubectl = kubectlFor(stack.k8s.server, stack.k8s.certificateAuthority, 'k8s', token);
    // Objects that exist in prod, made by an administrator.
    const made = await kubectl([...FROM_FILE('create'), file('prod-binding.json', binding('prod', 'ops-readers'))], { token: adminToken });
    expect(made.stderr).toBe('');
    expect((await kubectl(['create', 'configmap', 'settings', '-n', 'prod', '--from-literal=mode=fast'], { token: adminToken, version: '1.30' })).stderr).toBe('');
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
    await cluster?.close();
  });

  describe('a PUT that would create the object is decided as create', () => {
    it('refuses kubectl replace of a role binding that does not exist (policy permits update, not create); nothing is created', async () => {
      const before = cluster.api.requests.length;
      const result = await kubectl([...FROM_FILE('replace'), file('new-binding.json', binding('prod', 'sneaky-admins', 'cluster-admin'))]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('Error from server (Forbidden): error when replacing');
      expect(result.stderr).toContain('rolebindings.rbac.authorization.k8s.io "sneaky-admins" is forbidden: a PUT creates the object when it does not exist, and policy decides k8s:create (deny) more strictly than k8s:update (allow); it does not exist, so it is decided as k8s:create');
      expect(stored('rbac.authorization.k8s.io/rolebindings/prod/sneaky-admins')).toBeUndefined();
      // The agent asked with its own credential; the PUT never reached the API server.
      expect(agentReads('/apis/rbac.authorization.k8s.io/v1/namespaces/prod/rolebindings/sneaky-admins')).toHaveLength(1);
      expect(cluster.api.requests.slice(before).some((r) => r.method === 'PUT')).toBe(false);
    });

    it('lets kubectl replace change a role binding that exists, as an update', async () => {
      const result = await kubectl([...FROM_FILE('replace'), file('existing-binding.json', binding('prod', 'ops-readers', 'edit'))]);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain('rolebinding.rbac.authorization.k8s.io/ops-readers replaced');
      expect(cluster.api.store.objects.get('rbac.authorization.k8s.io/rolebindings/prod/ops-readers')).toMatchObject({ roleRef: { name: 'edit' } });
    });

    it('refuses with a clear Status when the agent cannot find out whether the object exists', async () => {
      cluster.api.deny({ user: AGENT_USER, method: 'GET', pathPrefix: '/apis/rbac.authorization.k8s.io/v1/namespaces/prod/rolebindings/unverifiable' });
      const result = await kubectl([...FROM_FILE('replace'), file('unverifiable.json', binding('prod', 'unverifiable'))]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('rolebindings.rbac.authorization.k8s.io "unverifiable" is forbidden: a PUT creates the object when it does not exist');
      expect(result.stderr).toContain("whether it exists could not be checked (the API server answered 403 to the agent's GET /apis/rbac.authorization.k8s.io/v1/namespaces/prod/rolebindings/unverifiable: User \"system:serviceaccount:gw:agent\" cannot get");
      expect(stored('rbac.authorization.k8s.io/rolebindings/prod/unverifiable')).toBeUndefined();
    });

    it('asks the API server nothing when policy permits both create and update (the common path)', async () => {
      const result = await kubectl([...FROM_FILE('replace'), file('default-binding.json', binding('default', 'fresh-readers'))]);
      expect(result.stderr).toBe('');
      expect(stored('rbac.authorization.k8s.io/rolebindings/default/fresh-readers')).toBeDefined();
      expect(agentReads('/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/fresh-readers')).toHaveLength(0);
    });

    it('decides server-side apply the same way: a patch where the object exists, a create where it does not', async () => {
      const apply = (name: string) => raw('PATCH', `/api/v1/namespaces/prod/configmaps/${name}?fieldManager=e2e`, `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  mode: slow\n`, 'application/apply-patch+yaml');
      const existing = await apply('settings');
      expect(existing.status, existing.body).toBe(200);
      expect(JSON.parse(existing.body)).toMatchObject({ data: { mode: 'slow' } });
      const missing = await apply('brand-new');
      expect(missing.status).toBe(403);
      expect(JSON.parse(missing.body).message).toContain('server-side apply creates the object when it does not exist');
      expect(stored('/configmaps/prod/brand-new')).toBeUndefined();
    });

    it('records the check and what the request was decided as', async () => {
      await expect.poll(async () => (await requestEvents()).filter((e) => e.existenceCheck !== undefined).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(5);
      const events = await requestEvents();
      expect(events).toContainEqual(expect.objectContaining({ method: 'PUT', name: 'sneaky-admins', action: 'k8s:update', decidedAs: 'k8s:create', existenceCheck: { exists: false, status: 404 }, decision: 'deny', status: 403 }));
      expect(events).toContainEqual(expect.objectContaining({ method: 'PUT', name: 'ops-readers', action: 'k8s:update', existenceCheck: { exists: true, status: 200 }, decision: 'allow', status: 200 }));
      expect(events).toContainEqual(expect.objectContaining({ method: 'PUT', name: 'unverifiable', existenceCheck: expect.objectContaining({ exists: null }), decision: 'deny', status: 403 }));
      const fresh = events.find((e) => e.name === 'fresh-readers' && e.method === 'PUT');
      expect(fresh).toMatchObject({ decision: 'allow', status: 201, created: true });
      expect(fresh).not.toHaveProperty('existenceCheck');
    });
  });

  describe('credentials minted through the gateway are decided as k8s:issue_credential', () => {
    it('refuses kubectl create token for a workload (old and new kubectl) before the API server sees it', async () => {
      const before = cluster.api.requests.length;
      for (const version of ['1.30', '1.33']) {
        const result = await kubectl(['create', 'token', 'reader'], { version });
        expect(result.code, version).not.toBe(0);
        expect(result.stderr, version).toContain('error: failed to create token: serviceaccounts/token "reader" is forbidden: no policy permits k8s:issue_credential');
        expect(result.stdout).toBe('');
      }
      const tokenRequests = () => cluster.api.requests.slice(before).filter((r) => r.path.startsWith('/api/v1/namespaces/default/serviceaccounts/reader/token'));
      expect(tokenRequests()).toEqual([]);
      // Whom policy permits it (here: administrators) reaches the API server, whose own RBAC then
      // decides (the double lets only the agent mint tokens).
      const admin = await kubectl(['create', 'token', 'reader'], { token: adminToken, version: '1.30' });
      expect(admin.stderr).toContain('User "system:serviceaccount:gw:deployer" cannot create resource "serviceaccounts/token"');
      expect(tokenRequests()).toHaveLength(1);
    });

    it('refuses a Secret of type service-account-token, even where Secrets may be created', async () => {
      const secret = { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token', metadata: { name: 'reader-token', annotations: { 'kubernetes.io/service-account.name': 'reader' } } };
      const result = await kubectl([...FROM_FILE('create'), file('token-secret.json', secret)]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('secrets is forbidden: a Secret of type kubernetes.io/service-account-token is filled with a token of its service account that never expires, so it is decided as k8s:issue_credential too');
      expect(stored('/secrets/default/reader-token')).toBeUndefined();
      const plain = await kubectl([...FROM_FILE('create'), file('plain-secret.json', { ...secret, type: 'Opaque', metadata: { name: 'plain' } })]);
      expect(plain.stdout).toContain('secret/plain created');
    });

    it('refuses kubectl certificate approve though workloads may update certificate signing requests', async () => {
      // kubectl 1.30 sends JSON, which the double reads: without the gateway's decision the approval would land.
      const result = await kubectl(['certificate', 'approve', 'csr-admin'], { version: '1.30' });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('certificatesigningrequests/approval.certificates.k8s.io "csr-admin" is forbidden: no policy permits k8s:issue_credential');
      expect(stored('certificates.k8s.io/certificatesigningrequests//csr-admin')?.status?.conditions ?? []).toEqual([]);
      // kubectl 1.33 sends the approval as protobuf, which the double does not read.
      const admin = await kubectl(['certificate', 'approve', 'csr-admin'], { token: adminToken, version: '1.30' });
      expect(admin.stdout).toContain('approved');
      expect(stored('certificates.k8s.io/certificatesigningrequests//csr-admin')?.status?.conditions?.map((c) => c.type)).toEqual(['Approved']);
    });

    it('refuses impersonation (kubectl --as) instead of running the request as the session', async () => {
      const before = cluster.api.requests.length;
      const result = await kubectl(['get', 'pods', '--as', 'system:admin', '--as-group', 'system:masters']);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('impersonation is not available through the gateway (the request carries impersonate-group, impersonate-user; kubectl --as, --as-group, --as-uid send them)');
      expect(result.stdout).not.toContain('web-1');
      expect(cluster.api.requests.slice(before).filter((r) => r.path.includes('/pods'))).toEqual([]);
    });
  });

  describe('pod specs that reach the node are decided as k8s:run_privileged, where writes are otherwise permitted', () => {
    const pod = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'main', image: 'busybox' }], ...spec } });

    it('refuses a pod with the host filesystem mounted and a privileged container; the same pod without them is created', async () => {
      const rooted = pod('rooted', {
        hostPID: true,
        volumes: [{ name: 'host', hostPath: { path: '/' } }],
        containers: [{ name: 'main', image: 'busybox', securityContext: { privileged: true }, volumeMounts: [{ name: 'host', mountPath: '/host' }] }],
      });
      const before = cluster.api.requests.length;
      const result = await kubectl([...FROM_FILE('create'), file('rooted.json', rooted)]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('pods is forbidden: the pod spec asks for a privileged container, hostPID, a hostPath volume, which reaches the node, so it is decided as k8s:run_privileged too');
      expect(result.stderr).toContain('no policy permits k8s:run_privileged');
      expect(cluster.api.requests.slice(before).filter((r) => r.method === 'POST' && r.path.includes('/pods'))).toEqual([]);
      expect(stored('/pods/default/rooted')).toBeUndefined();
      const plain = await kubectl([...FROM_FILE('create'), file('plain-pod.json', pod('plain', {}))]);
      expect(plain.stdout).toContain('pod/plain created');
      // Whom policy permits it (administrators here) creates it.
      const admin = await kubectl([...FROM_FILE('create'), file('rooted.json', rooted)], { token: adminToken });
      expect(admin.stdout).toContain('pod/rooted created');
    });

    it('refuses the same through a deployment, in a YAML body, and in JSON, merge and strategic patches (old and new kubectl)', async () => {
      expect((await kubectl(['create', 'deployment', 'api', '--image=nginx'], { version: '1.30' })).stdout).toContain('deployment.apps/api created');
      const yaml = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: node-agent\nspec:\n  template:\n    spec:\n      hostNetwork: yes\n      containers:\n      - name: main\n        image: busybox\n';
      const created = await kubectl([...FROM_FILE('create'), file('node-agent.yaml', yaml)]);
      expect(created.stderr).toContain('deployments.apps is forbidden: the pod spec asks for hostNetwork, which reaches the node');
      for (const version of ['1.30', '1.33']) {
        const patches: [string, string, string][] = [
          ['json', '[{"op":"add","path":"/spec/template/spec/containers/0/securityContext","value":{"capabilities":{"add":["SYS_ADMIN"]}}}]', 'the capability SYS_ADMIN'],
          ['merge', '{"spec":{"template":{"spec":{"hostIPC":true}}}}', 'hostIPC'],
          ['strategic', '{"spec":{"template":{"spec":{"volumes":[{"name":"sock","hostPath":{"path":"/var/run/docker.sock"}}]}}}}', 'a hostPath volume'],
        ];
        for (const [type, patch, what] of patches) {
          const result = await kubectl(['patch', 'deployment', 'api', '--type', type, '-p', patch], { version });
          expect(result.code, `${version} ${type}`).not.toBe(0);
          expect(result.stderr, `${version} ${type}`).toContain(`deployments.apps "api" is forbidden: the pod spec asks for ${what}, which reaches the node, so it is decided as k8s:run_privileged too`);
        }
      }
      const spec = (stored('apps/deployments/default/api') as unknown as { spec: { template: { spec: Record<string, unknown> } } }).spec.template.spec;
      expect(spec).not.toHaveProperty('hostIPC');
      expect(spec).not.toHaveProperty('volumes');
      // A patch that asks for nothing of the node goes through.
      expect((await kubectl(['patch', 'deployment', 'api', '--type', 'merge', '-p', '{"spec":{"replicas":2}}'])).stdout).toContain('deployment.apps/api patched');
      const events = await requestEvents();
      expect(events).toContainEqual(expect.objectContaining({ method: 'PATCH', name: 'api', action: 'k8s:patch', alsoActions: ['k8s:run_privileged'], decision: 'deny', status: 403 }));
    });

    it('refuses the same in a custom resource an operator makes pods from (an Argo Workflow); a plain one is created', async () => {
      const workflow = (name: string, container: Record<string, unknown>) =>
        `apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  name: ${name}\nspec:\n  entrypoint: main\n  templates:\n  - name: main\n    container: ${JSON.stringify({ image: 'busybox', command: ['sh', '-c', 'id'], ...container })}\n`;
      const before = cluster.api.requests.length;
      const refused = await kubectl([...FROM_FILE('create'), file('escape.yaml', workflow('escape', { securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN'] } } }))], { version: '1.33' });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('workflows.argoproj.io is forbidden: the pod spec asks for ');
      for (const what of ['a privileged container', 'the capability SYS_ADMIN', 'which reaches the node, so it is decided as k8s:run_privileged too']) expect(refused.stderr).toContain(what);
      expect(cluster.api.requests.slice(before).filter((r) => r.method === 'POST' && r.path.includes('/workflows'))).toEqual([]);
      const patched = await kubectl(['patch', 'workflows.argoproj.io', 'plain', '--type', 'merge', '-p', '{"spec":{"hostNetwork":true}}'], { version: '1.30' });
      expect(patched.stderr).toMatch(/forbidden: the pod spec asks for hostNetwork|not found/);
      const plain = await kubectl([...FROM_FILE('create'), file('plain-workflow.yaml', workflow('plain', {}))], { version: '1.30' });
      expect(plain.stdout).toContain('workflow.argoproj.io/plain created');
      const again = await kubectl(['patch', 'workflows.argoproj.io', 'plain', '--type', 'merge', '-p', '{"spec":{"hostNetwork":true}}'], { version: '1.30' });
      expect(again.stderr).toContain('workflows.argoproj.io "plain" is forbidden: the pod spec asks for hostNetwork, which reaches the node');
      expect(stored('argoproj.io/workflows/default/plain')).toBeDefined();
      expect(stored('argoproj.io/workflows/default/plain') as unknown as { spec: Record<string, unknown> }).not.toHaveProperty('spec.hostNetwork');
    });
  });

  describe('labels are read from every body the API server reads, and an unreadable one is refused when policy reads labels', () => {
    const labelled = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { privileged: 'true' } }, data: { a: 'b' } });

    it('JSON from kubectl, as before', async () => {
      const result = await kubectl([...FROM_FILE('create'), file('privileged.json', labelled('privileged-json'))]);
      expect(result.stderr).toContain('configmaps is forbidden: denied by policy "no-privileged": privileged objects are for administrators');
    });

    it('YAML: a create as application/yaml, server-side apply as application/apply-patch+yaml', async () => {
      const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: privileged-yaml\n  labels:\n    privileged: "true"\n';
      const created = await raw('POST', '/api/v1/namespaces/default/configmaps', yaml, 'application/yaml');
      expect(created.status).toBe(403);
      expect(JSON.parse(created.body).message).toContain('denied by policy "no-privileged"');
      const applied = await raw('PATCH', '/api/v1/namespaces/default/configmaps/privileged-yaml?fieldManager=e2e', yaml, 'application/apply-patch+yaml');
      expect(applied.status).toBe(403);
      expect(JSON.parse(applied.body).message).toContain('denied by policy "no-privileged"');
      expect(stored('/configmaps/default/privileged-yaml')).toBeUndefined();
      // The same without the label goes through.
      const plain = await raw('PATCH', '/api/v1/namespaces/default/configmaps/plain-yaml?fieldManager=e2e', yaml.replace('privileged-yaml', 'plain-yaml').replace('privileged: "true"', 'app: web'), 'application/apply-patch+yaml');
      expect(plain.status, plain.body).toBe(201);
    });

    it('a JSON patch that adds the label', async () => {
      const ops = JSON.stringify([{ op: 'add', path: '/metadata/labels/privileged', value: 'true' }]);
      const patched = await raw('PATCH', '/api/v1/namespaces/default/configmaps/app-config', ops, 'application/json-patch+json');
      expect(patched.status).toBe(403);
      expect(JSON.parse(patched.body).message).toContain('denied by policy "no-privileged"');
      expect(stored('/configmaps/default/app-config')?.metadata.labels?.privileged).toBeUndefined();
    });

    it('refuses a protobuf body (kubectl 1.33 create secret) with UnsupportedMediaType before the API server sees it', async () => {
      const before = cluster.api.requests.length;
      const result = await kubectl(['create', 'secret', 'generic', 'from-protobuf', '--from-literal=a=b'], { version: '1.33' });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('error: failed to create secret secrets: policy decides on the labels of the object (context.objectLabels), and the request body is application/vnd.kubernetes.protobuf, which the gateway does not decode; send it as JSON or YAML');
      expect(cluster.api.requests.slice(before).some((r) => r.path.includes('/secrets'))).toBe(false);
    });

    it('refuses YAML whose label keys the API server would turn into other strings', async () => {
      const result = await raw('POST', '/api/v1/namespaces/default/configmaps', 'metadata:\n  name: odd\n  labels:\n    on: "x"\n', 'application/yaml');
      expect(result.status).toBe(400);
      expect(JSON.parse(result.body)).toMatchObject({ reason: 'BadRequest' });
      expect(JSON.parse(result.body).message).toContain('the key true is not a string (quote it)');
    });
  });
});
