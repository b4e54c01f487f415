import { readFileSync } from 'node:fs';
import { DEMO_POLICY, DEMO_SSH_LOGIN } from '@gw/policy';
import type { ResourceDeclaration } from '@gw/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { connectFakeAgent } from './support/fake-agent.js';
import { startHarness, type Harness } from './support/harness.js';

/**
 * The README's just-in-time example, run as written against the shipped demo policy and the
 * resources of examples/agent.yaml: the requests are read from the README itself, so the
 * example and the demo cannot drift apart unnoticed.
 */
const ROOT = new URL('../../../', import.meta.url);
const README = readFileSync(new URL('README.md', ROOT), 'utf8');

function section(title: string): string {
  const start = README.indexOf(`## ${title}`);
  expect(start, `README section "${title}"`).toBeGreaterThanOrEqual(0);
  const end = README.indexOf('\n## ', start + 3);
  return README.slice(start, end < 0 ? undefined : end);
}

interface CurlCall { client: string; method: string; path: string; body?: unknown }

/** The curl commands of a sh block: method, API path, JSON body and which demo client's token. */
function curlCalls(block: string): CurlCall[] {
  const exported = /export TOKEN=\$\(npm run -s token -- ([\w-]+)\)/.exec(block)?.[1];
  const commands = block.replace(/\\\n\s*/g, ' ').split('\n').filter((line) => line.trimStart().startsWith('curl '));
  return commands.map((command) => {
    const inline = /Bearer \$\(npm run -s token -- ([\w-]+)\)/.exec(command)?.[1];
    const client = inline ?? (command.includes('Bearer $TOKEN') ? exported : undefined);
    const url = /https?:\/\/127\.0\.0\.1:8080(\/[^\s"']+)/.exec(command)?.[1];
    const single = /-d '([^']*)'/.exec(command)?.[1];
    const double = /-d "((?:[^"\\]|\\.)*)"/.exec(command)?.[1]?.replace(/\\"/g, '"');
    const data = single ?? double;
    const method = /-X (\w+)/.exec(command)?.[1] ?? (data === undefined ? 'GET' : 'POST');
    expect(client, `token of: ${command}`).toBeDefined();
    expect(url, `URL of: ${command}`).toBeDefined();
    return { client: client!, method, path: url!, ...(data === undefined ? {} : { body: JSON.parse(data) as unknown }) };
  });
}

describe('README: just-in-time access requests work as shipped (demo policy, examples/agent.yaml)', () => {
  const jit = section('Just-in-time grants and approvals');
  let h: Harness;
  let closeAgent: (() => void) | undefined;

  beforeAll(async () => {
    h = await startHarness();
    const admin = await h.token('security-admin');
    const agentYaml = parseYaml(readFileSync(new URL('examples/agent.yaml', ROOT), 'utf8')) as { resources: ResourceDeclaration[] };
    const declared = agentYaml.resources.map(({ name, type, labels }) => ({ name, type, labels }));
    const reg = await h.request('POST', '/api/v1/agents', { token: admin, body: { name: 'demo-agent' } });
    closeAgent = (await connectFakeAgent(h.baseUrl, { credential: reg.body.credential }, declared)).close;
    expect((await h.request('POST', '/api/v1/policies', { token: admin, body: { text: DEMO_POLICY, activate: true } })).status).toBe(201);
  });
  afterAll(async () => {
    closeAgent?.();
    await h?.close();
  });

  it('shows the request_access rules of the demo policy verbatim', () => {
    const cedar = /```cedar\n([\s\S]*?)```/.exec(jit)?.[1];
    expect(cedar).toBeDefined();
    for (const rule of cedar!.split(/\n\s*\n/).map((r) => r.trim()).filter(Boolean)) expect(DEMO_POLICY).toContain(rule);
  });

  it('runs the example: dev granted at once, prod approved by one approver, both grants active', async () => {
    const block = [...jit.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('/api/v1/access-requests'));
    expect(block, 'the sh block with the access requests').toBeDefined();
    const calls = curlCalls(block!);
    expect(calls.map((c) => `${c.method} ${c.path.replace(/\?.*/, '')}`)).toEqual([
      'POST /api/v1/access-requests',
      'POST /api/v1/access-requests',
      'POST /api/v1/approvals/$APPROVAL/approve',
      'GET /api/v1/grants',
    ]);
    const send = async (call: CurlCall, approvalId = '') =>
      h.request(call.method, call.path.replace('$APPROVAL', approvalId), { token: await h.token(call.client), ...(call.body === undefined ? {} : { body: call.body }) });

    const dev = await send(calls[0]!);
    expect(dev.status, JSON.stringify(dev.body)).toBe(201);
    expect(dev.body).toMatchObject({
      accessRequest: { status: 'approved', decision: { effect: 'allow', policies: ['requester-access-dev'] } },
      grant: { resource: 'ssh-demo', role: DEMO_SSH_LOGIN, state: 'active' },
      approval: null,
    });

    const prod = await send(calls[1]!);
    expect(prod.status, JSON.stringify(prod.body)).toBe(201);
    expect(prod.body).toMatchObject({
      accessRequest: { resource: 'postgres-demo', role: 'demo_writer', status: 'pending', decision: { effect: 'require_approval', policies: ['requester-access-prod'] } },
      grant: null,
      approval: { status: 'pending', requiredApprovals: 1, approvers: ['role:approver'] },
    });

    const approved = await send(calls[2]!, prod.body.approval.id);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.status).toBe('approved');

    const grants = await send(calls[3]!);
    expect(grants.status).toBe(200);
    const active = (grants.body.items as { resource: string; role: string; state: string; startsAt: string; expiresAt: string }[]).filter((g) => g.state === 'active');
    expect(active.map((g) => `${g.resource}/${g.role}`).sort()).toEqual([`postgres-demo/demo_writer`, `ssh-demo/${DEMO_SSH_LOGIN}`]);
    const prodGrant = active.find((g) => g.resource === 'postgres-demo')!;
    expect(Date.parse(prodGrant.expiresAt) - Date.parse(prodGrant.startsAt)).toBe(2 * 3600 * 1000);
  });

  it('refuses resources the demo policy does not open (no env label) with 403, stored as denied', async () => {
    const admin = await h.token('security-admin');
    const reg = await h.request('POST', '/api/v1/agents', { token: admin, body: { name: 'other-agent' } });
    const other = await connectFakeAgent(h.baseUrl, { credential: reg.body.credential }, [{ name: 'unlabelled-db', type: 'postgres', labels: {} }]);
    try {
      const res = await h.request('POST', '/api/v1/access-requests', {
        token: await h.token('ai-agent'),
        body: { resource: 'unlabelled-db', role: 'demo_writer', duration: '30m', reason: 'INC-4711' },
      });
      expect(res.status).toBe(403);
      const mine = await h.request('GET', '/api/v1/access-requests?status=denied', { token: await h.token('ai-agent') });
      expect(mine.body.items.map((r: { resource: string }) => r.resource)).toContain('unlabelled-db');
    } finally {
      other.close();
    }
  });
});
