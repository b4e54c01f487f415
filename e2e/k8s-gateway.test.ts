import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlBinary, kubectlFor, startKubeCluster, type KubeCluster, type Kubectl } from './support/kube-fixture.js';
import { k8sRequest } from './support/kube-raw.js';
import { startStack, type Stack } from './support/stack.js';
import { startStaleIssuer } from './support/stale-issuer.js';

const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("k8s-connect") @k8s_service_account("gw/deployer") @k8s_groups("gw:readers, gw:deployers")
permit (principal, action == Gateway::Action::"connect", resource)
  when { resource.type == "kubernetes" && principal.gatewayRoles.contains("requester") };
@id("k8s-read") @mask_columns("secrets.data:full, secrets.stringData:full") @mask("email:partial, ssn:full")
permit (principal, action in Gateway::Action::"k8s:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("k8s-write-default")
permit (principal, action in Gateway::Action::"k8s:write", resource)
  when { principal.gatewayRoles.contains("requester") && context has namespace && context.namespace == "default" };
@id("k8s-delete-prod") @approval("required") @approvers("role:approver")
permit (principal, action == Gateway::Action::"k8s:delete", resource)
  when { principal.gatewayRoles.contains("requester") && context has namespace && context.namespace == "prod" };
@id("no-secret-delete") @reason("workloads do not delete secrets")
forbid (principal, action == Gateway::Action::"k8s:delete", resource) when { context has apiResource && context.apiResource == "secrets" };
@id("k8s-exec-default") @mask("email:partial")
permit (principal, action in [Gateway::Action::"k8s:exec", Gateway::Action::"k8s:attach"], resource)
  when { principal.gatewayRoles.contains("requester") && context has namespace && context.namespace == "default" };
@id("k8s-exec-prod") @approval("required") @approvers("role:approver")
permit (principal, action == Gateway::Action::"k8s:exec", resource)
  when { principal.gatewayRoles.contains("requester") && context has namespace && context.namespace == "prod" };
`;

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

describe('kubernetes through the gateway: kubectl, per-request policy, masking, approvals, exec', () => {
  let cluster: KubeCluster;
  let stack: Stack;
  let token: string;
  let kubectl: Kubectl;
  let stale: Awaited<ReturnType<typeof startStaleIssuer>>;

  beforeAll(async () => {
    cluster = await startKubeCluster();
    stale = await startStaleIssuer();
    stack = await startStack({
      policy: POLICY,
      resources: [cluster.resource('k8s', 'token-request'), cluster.resource('k8s-imp', 'impersonate')],
      extraIssuers: [{ issuer: stale.issuer, audience: 'api://gateway' }],
    });
    token = await stack.cp.token('ai-agent');
    kubectl = kubectlFor(stack.k8s.server, stack.k8s.certificateAuthority, 'k8s', token);
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
    await cluster?.close();
    await stale?.close();
  });

  it('lists pods with a service account token minted for the session; the client token never reaches the API server, and impersonation is refused', async () => {
    const first = cluster.api.requests.length;
    const listed = await kubectl(['get', 'pods']);
    expect(listed.stderr).toBe('');
    expect(listed.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+AGE\nweb-1\s+1\/1\s+Running/);
    // Dropping --as and going on would list as the session's service account: refused instead.
    const asked = await kubectl(['get', 'pods', '--as', 'system:admin', '--as-group', 'system:masters', '-o', 'name']);
    expect(asked.code).not.toBe(0);
    expect(asked.stdout).toBe('');
    expect(asked.stderr).toContain('impersonation is not available through the gateway');

    const seen = cluster.api.requests.slice(first);
    expect(seen.some((r) => r.token === token || JSON.stringify(r).includes(token))).toBe(false);
    expect(seen.every((r) => r.impersonateUser === null && r.impersonateGroups.length === 0)).toBe(true);
    const tokenRequests = seen.filter((r) => r.path.endsWith('/serviceaccounts/deployer/token'));
    expect(tokenRequests.length).toBeGreaterThan(0);
    expect(tokenRequests.every((r) => r.token === cluster.api.agentToken)).toBe(true);
    const reads = seen.filter((r) => r.path.startsWith('/api/v1/namespaces/default/pods'));
    expect(reads.length).toBe(1);
    for (const r of reads) {
      const minted = cluster.api.tokens.get(r.token ?? '');
      expect(minted?.serviceAccount).toBe('gw/deployer');
      expect(minted?.expirationSeconds).toBeGreaterThanOrEqual(600);
    }
  });

  it('in impersonate mode sends the agent credential with Impersonate-User (the principal) and the groups policy names', async () => {
    const first = cluster.api.requests.length;
    const imp = kubectlFor(stack.k8s.server, stack.k8s.certificateAuthority, 'k8s-imp', token);
    const listed = await imp(['get', 'configmaps', '-o', 'name']);
    expect(listed.stdout.trim()).toBe('configmap/app-config');
    const reads = cluster.api.requests.slice(first).filter((r) => r.path.startsWith('/api/v1/namespaces/default/configmaps'));
    expect(reads.length).toBe(1);
    const whoami = await stack.cp.request('GET', '/api/v1/whoami', { token });
    expect(reads[0]).toMatchObject({ token: cluster.api.agentToken, impersonateUser: whoami.body.id, impersonateGroups: ['gw:deployers', 'gw:readers'] });
  });

  it('masks Secret data (JSON, YAML, lists, Table objects and metadata, watch events) and e-mail addresses in ConfigMaps and logs', async () => {
    const secret = await kubectl(['get', 'secret', 'db-credentials', '-o', 'json']);
    expect(secret.stderr).toBe('');
    const parsed = JSON.parse(secret.stdout) as { data: Record<string, string>; metadata: { annotations: Record<string, string> } };
    expect(Object.keys(parsed.data).sort()).toEqual(['password', 'username']);
    expect(parsed.data.password).not.toBe(Buffer.from('hunter2-secret').toString('base64'));
    expect(secret.stdout).not.toContain('hunter2');
    expect(secret.stdout).not.toContain(Buffer.from('hunter2-secret').toString('base64'));
    const list = await kubectl(['get', 'secrets', '-o', 'yaml']);
    expect(list.stdout).toContain('db-credentials');
    expect(list.stdout).not.toContain(Buffer.from('hunter2-secret').toString('base64'));

    const base = `${stack.k8s.server}/k8s/k8s/api/v1/namespaces/default`;
    const table = await k8sRequest(`${base}/secrets?includeObject=Object`, stack.k8s.certificateAuthority, token, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
    expect(table.status).toBe(200);
    expect(table.body).toContain('"kind":"Table"');
    expect(table.body).toContain('db-credentials');
    expect(table.body).not.toContain(Buffer.from('hunter2-secret').toString('base64'));
    // kubectl get's own Table (rows hold PartialObjectMetadata): the last-applied-configuration
    // annotation holds the Secret as written, data and all, though the rows carry no data field.
    for (const query of ['', '?watch=1']) {
      const meta = await k8sRequest(`${base}/secrets${query}`, stack.k8s.certificateAuthority, token, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io', firstLineOnly: query !== '' });
      expect(meta.body).toContain('"kind":"PartialObjectMetadata"');
      expect(meta.body).toContain('kubectl.kubernetes.io/last-applied-configuration');
      expect(meta.body).not.toContain('hunter2');
    }
    const watch = await k8sRequest(`${base}/secrets?watch=1`, stack.k8s.certificateAuthority, token, { firstLineOnly: true });
    expect(JSON.parse(watch.body)).toMatchObject({ type: 'ADDED', object: { kind: 'Secret', metadata: { name: 'db-credentials' } } });
    expect(watch.body).not.toContain(Buffer.from('hunter2-secret').toString('base64'));
    const protobuf = await k8sRequest(`${base}/secrets/db-credentials`, stack.k8s.certificateAuthority, token, { accept: 'application/vnd.kubernetes.protobuf' });
    expect(protobuf.headers['content-type']).toMatch(/json/);
    expect(protobuf.body).not.toContain(Buffer.from('hunter2-secret').toString('base64'));

    const configmap = await kubectl(['get', 'configmap', 'app-config', '-o', 'yaml']);
    expect(configmap.stdout).toMatch(/owner: a\*+@example\.com/);
    const logs = await kubectl(['logs', 'web-1']);
    expect(logs.stdout).toContain('line 1 of web-1');
    expect(logs.stdout).not.toContain('bob@example.com');
  });

  it('kubectl get --raw: a path without the cluster prefix gets a 404 naming the prefix to write; with it, masked like any read', async () => {
    const bare = await kubectl(['get', '--raw', '/api/v1/namespaces/default/secrets']);
    expect(bare.code).not.toBe(0);
    expect(bare.stderr).toContain('kubectl --raw ignores the kubeconfig server\'s path: write /k8s/<resource>/api/v1/namespaces/default/secrets');
    const prefixed = await kubectl(['get', '--raw', '/k8s/k8s/api/v1/namespaces/default/secrets/db-credentials']);
    expect(prefixed.stderr).toBe('');
    expect(JSON.parse(prefixed.stdout)).toMatchObject({ kind: 'Secret', metadata: { name: 'db-credentials' } });
    expect(prefixed.stdout).not.toContain(Buffer.from('hunter2-secret').toString('base64'));
  });

  it('kubectl auth can-i is answered from the gateway policy (protobuf from 1.33, JSON from 1.27); whoami names the principal', async () => {
    for (const version of ['1.33', '1.27']) {
      const canI = async (...args: string[]) => {
        const r = await kubectl(['auth', 'can-i', ...args], { version });
        return `${r.stdout.trim().split(/\s/)[0]} ${r.code}`;
      };
      expect(await canI('get', 'pods')).toBe('yes 0');
      // The context's namespace is default, where k8s-write-default permits writes.
      expect(await canI('create', 'configmaps')).toBe('yes 0');
      expect(await canI('create', 'configmaps', '-n', 'kube-system')).toBe('no 1');
      // kubectl sends its namespace with a cluster-scoped resource; the real request has none: not permitted.
      expect(await canI('create', 'namespaces')).toBe('no 1');
      expect(await canI('delete', 'secrets', '-n', 'prod')).toBe('no 1');
      expect(await canI('delete', 'pods', '-n', 'prod')).toBe('no 1');
      expect(await canI('create', 'pods/exec', '-n', 'prod')).toBe('no 1');
      expect(await canI('create', 'pods/exec')).toBe('yes 0');
    }
    // Why, as kubectl shows it without --quiet: the policy that holds or forbids.
    const held = await kubectl(['auth', 'can-i', 'delete', 'pods', '-n', 'prod']);
    expect(held.stdout).toContain('no - the gateway holds this request for an approver ("k8s-delete-prod")');
    const forbidden = await kubectl(['auth', 'can-i', 'delete', 'secrets', '-n', 'prod']);
    expect(forbidden.stdout).toContain('denied by gateway policy ("no-secret-delete")');
    const list = await kubectl(['auth', 'can-i', '--list']);
    expect(list.stderr).toContain('the gateway decides each request by policy');
    const whoami = await kubectl(['auth', 'whoami', '-o', 'json']);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ kind: 'SelfSubjectReview', status: { userInfo: { username: expect.stringContaining('#') as unknown, extra: { 'gateway.roles': ['requester'] } } } });
    // Each review is recorded with what it asked and the decision policy gave.
    const sessions = (await stack.cp.request('GET', '/api/v1/sessions?resource=k8s&limit=200', { token: stack.admin })).body as { items: { id: string }[] };
    const events = await Promise.all(sessions.items.map(async (s) => ((await stack.cp.request('GET', `/api/v1/sessions/${s.id}/events?limit=1000`, { token: stack.admin })).body as { items: { type: string; data: Record<string, unknown> }[] }).items));
    const reviews = events.flat().filter((e) => e.type === 'k8s.request' && e.data['resource'] === 'selfsubjectaccessreviews');
    expect(reviews.map((e) => e.data['reviewed'])).toContainEqual({ path: '/api/v1/namespaces/prod/secrets', verb: 'delete', action: 'k8s:delete', effect: 'deny' });
  }, 120_000);

  it('masks bare digits that a ConfigMap key names an SSN (kubectl get -o json), not the same digits under another key', async () => {
    const manifest = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'payroll' }, data: { customer_ssn: '536228714', batch: '536228714' } };
    const created = await kubectl(['create', '--validate=false', '-f', '-'], { input: JSON.stringify(manifest) });
    expect(created.stderr).toBe('');
    const got = await kubectl(['get', 'configmap', 'payroll', '-o', 'json']);
    expect(got.stderr).toBe('');
    expect((JSON.parse(got.stdout) as { data: Record<string, string> }).data).toEqual({ customer_ssn: '*********', batch: '536228714' });
  });

  it('streams logs -f live through the gateway, masked line by line', async () => {
    const child = spawn(kubectlBinary('1.33'), ['--kubeconfig', kubectl.kubeconfigFor(token), 'logs', '-f', 'web-1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    // The double writes three lines, then one more every 200 ms for as long as the client follows.
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('line 5 of web-1')) resolve();
      });
      child.once('exit', () => reject(new Error(`logs -f ended: ${out}`)));
    });
    child.kill();
    expect(out).toContain('request from b**@example.com');
    expect(out).not.toContain('bob@example.com');
  });

  it('refuses a delete that policy forbids with a Kubernetes Forbidden status; nothing is deleted', async () => {
    const result = await kubectl(['delete', 'secret', 'db-credentials']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('Error from server (Forbidden): secrets "db-credentials" is forbidden: denied by policy "no-secret-delete": workloads do not delete secrets');
    expect(JSON.parse((await kubectl(['get', 'secret', 'db-credentials', '-o', 'json'])).stdout).metadata.name).toBe('db-credentials');
  });

  it('holds a delete in prod: the answer names the approval, and once approved the same request runs once', async () => {
    const held = await kubectl(['delete', 'pod', 'api-1', '-n', 'prod']);
    expect(held.code).not.toBe(0);
    expect(held.stderr).toContain('Error from server (Forbidden): pods "api-1" is held for approval');
    const approvalId = UUID.exec(held.stderr)![0];
    expect((await kubectl(['get', 'pod', 'api-1', '-n', 'prod', '-o', 'name'])).stdout.trim()).toBe('pod/api-1');

    const vote = await stack.cp.request('POST', `/api/v1/approvals/${approvalId}/approve`, { token: await stack.cp.token('approver'), body: { comment: 'ok' } });
    expect(vote.status, JSON.stringify(vote.body)).toBe(200);
    let ran: Awaited<ReturnType<Kubectl>> | undefined;
    for (let i = 0; i < 50 && !ran?.stdout.includes('deleted'); i += 1) {
      ran = await kubectl(['delete', 'pod', 'api-1', '-n', 'prod']);
      if (!ran.stdout.includes('deleted')) await new Promise((r) => setTimeout(r, 200));
    }
    expect(ran!.stdout).toContain('pod "api-1" deleted');
    const gone = await kubectl(['get', 'pod', 'api-1', '-n', 'prod']);
    expect(gone.stderr).toContain('NotFound');
    const again = await kubectl(['delete', 'pod', 'api-1', '-n', 'prod']);
    expect(again.stderr).toContain('held for approval');
    expect(UUID.exec(again.stderr)![0]).not.toBe(approvalId);
  });

  it('runs exec over WebSocket, masks its output, records it and replays it as asciicast', async () => {
    const echoed = await kubectl(['exec', 'web-1', '--', 'echo', 'hello-from-pod']);
    expect(echoed.stdout).toBe('hello-from-pod\n');
    const piped = await kubectl(['exec', '-i', 'web-1', '--', 'cat'], { input: 'mail carol@example.com please\n' });
    expect(piped.stdout).toMatch(/^mail c\*+@example\.com please\n$/);

    const sessions = await stack.cp.request('GET', '/api/v1/sessions?resource=k8s&limit=100', { token: stack.admin });
    let cast = '';
    for (const s of sessions.body.items as { id: string }[]) {
      const res = await stack.cp.request('GET', `/api/v1/sessions/${s.id}/recording.cast`, { token: stack.admin });
      if (res.status === 200 && typeof res.body === 'string' && res.body.includes('hello-from-pod')) cast = res.body;
    }
    const lines = cast.trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines[0]).toMatchObject({ version: 2, command: 'echo hello-from-pod' });
    expect(lines.slice(1)).toContainEqual([expect.any(Number), 'o', 'hello-from-pod\n']);

    // A value in the command line is masked in the recording (path and command) like the output.
    const mailed = await kubectl(['exec', 'web-1', '--', 'echo', 'dave@example.com']);
    expect(mailed.stdout).toMatch(/^d\*+@example\.com\n$/);
    let recorded = '';
    // The agent ships recordings in batches: read until the exec's events have arrived.
    for (let i = 0; i < 50 && !recorded.includes('echo d'); i += 1) {
      const again = await stack.cp.request('GET', '/api/v1/sessions?resource=k8s&limit=100', { token: stack.admin });
      const bodies: string[] = [];
      for (const s of again.body.items as { id: string }[]) bodies.push(JSON.stringify((await stack.cp.request('GET', `/api/v1/sessions/${s.id}/events`, { token: stack.admin })).body));
      recorded = bodies.join('\n');
      if (!recorded.includes('echo d')) await new Promise((r) => setTimeout(r, 200));
    }
    expect(recorded).toContain('"command":"echo d***@example.com"');
    expect(recorded).not.toContain('dave@example.com');
  });

  it('exec output without a terminal: a value the stream cuts between messages is masked whole, for the client and in the recording', async () => {
    // 20,000 lines of about 20 bytes: the pipe and the WebSocket cut them wherever a read ends.
    const out = await kubectl(['exec', 'web-1', '--', 'sh', '-c', 'seq 1 20000 | sed "s/.*/user&@example.com/"']);
    expect(out.stderr).toBe('');
    const lines = out.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(20_000);
    expect(lines.filter((l) => !/^u\*+@example\.com$/.test(l))).toEqual([]);
    let recorded = '';
    for (let i = 0; i < 50 && !recorded.includes('seq 1 20000'); i += 1) {
      const sessions = await stack.cp.request('GET', '/api/v1/sessions?resource=k8s&limit=100', { token: stack.admin });
      const bodies: string[] = [];
      for (const s of sessions.body.items as { id: string }[]) bodies.push(JSON.stringify((await stack.cp.request('GET', `/api/v1/sessions/${s.id}/events`, { token: stack.admin })).body));
      recorded = bodies.join('\n');
      if (!recorded.includes('seq 1 20000')) await new Promise((r) => setTimeout(r, 200));
    }
    expect(recorded).toContain('seq 1 20000');
    expect(recorded).not.toMatch(/user\d|\d@example/);
  });

  it('attaches over WebSocket (decided as k8s:attach)', async () => {
    const attached = await kubectl(['attach', '-i', 'web-1'], { input: 'to the container\n' });
    expect(attached.stdout).toContain('to the container');
  });

  it('holds an exec in prod: stderr names the approval at once, and the command runs once approved', async () => {
    const config = kubectl.kubeconfigFor(token);
    const child = spawn(kubectlBinary('1.33'), ['--kubeconfig', config, 'exec', '-n', 'prod', 'worker-1', '--', 'echo', 'approved-run'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const approvalId = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const id = /held for approval ([0-9a-f-]{36})/.exec(stderr)?.[1];
        if (id) resolve(id);
      });
      child.once('exit', () => reject(new Error(`kubectl ended before the hold: ${stderr}`)));
    });
    expect(stdout).toBe('');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const vote = await stack.cp.request('POST', `/api/v1/approvals/${approvalId}/approve`, { token: await stack.cp.token('approver'), body: {} });
    expect(vote.status).toBe(200);
    expect(await exited).toBe(0);
    expect(stdout).toBe('approved-run\n');
  });

  it('refuses a token that expired, as Unauthorized', async () => {
    const expired = await stale.expiredToken();
    const result = await kubectl(['get', 'pods'], { token: expired });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('error: You must be logged in to the server');
    const audit = await stack.cp.request('GET', '/api/v1/audit/events?action=auth.token_refused', { token: stack.admin });
    expect(JSON.stringify(audit.body)).toContain('expired-token-1');
  });

  it('works with old and new kubectl; exec from a kubectl that only speaks SPDY (1.28) works too', async () => {
    for (const version of ['1.27', '1.30', '1.33']) {
      const listed = await kubectl(['get', 'pods', '-o', 'name'], { version });
      expect(listed.stdout.trim(), `kubectl ${version}`).toBe('pod/web-1');
    }
    const modern = await kubectl(['exec', 'web-1', '--', 'echo', 'ws'], { version: '1.31' });
    expect(modern.stdout).toBe('ws\n');
    const old = await kubectl(['exec', 'web-1', '--', 'echo', 'spdy'], { version: '1.28' });
    expect(old).toMatchObject({ code: 0, stdout: 'spdy\n' });
  });

  it('records every request with its attributes, decision and status', async () => {
    const sessions = await stack.cp.request('GET', '/api/v1/sessions?resource=k8s&limit=100', { token: stack.admin });
    const events: { type: string; data: Record<string, unknown> }[] = [];
    for (const s of sessions.body.items as { id: string }[]) {
      const res = await stack.cp.request('GET', `/api/v1/sessions/${s.id}/events`, { token: stack.admin });
      events.push(...(res.body.items as typeof events));
    }
    const requests = events.filter((e) => e.type === 'k8s.request').map((e) => e.data);
    expect(requests).toContainEqual(expect.objectContaining({ verb: 'list', resource: 'pods', namespace: 'default', action: 'k8s:list', decision: 'allow', status: 200 }));
    expect(requests).toContainEqual(expect.objectContaining({ verb: 'delete', resource: 'secrets', name: 'db-credentials', decision: 'deny', policies: ['no-secret-delete'], status: 403 }));
    expect(requests).toContainEqual(expect.objectContaining({ verb: 'delete', resource: 'pods', name: 'api-1', decision: 'require_approval', approvalId: expect.any(String), status: 200 }));
    const session = events.find((e) => e.type === 'k8s.session');
    expect(session?.data).toMatchObject({ resource: 'k8s', upstream: { mode: 'token-request', serviceAccount: 'gw/deployer' } });
  });
});
