import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from './support/agent-process.js';
import { spooledLines } from './support/session-events.js';
import { gatewaySsh, type GatewaySsh } from './support/ssh-client.js';
import { startSshTarget, type SshTarget } from './support/ssh-fixture.js';
import { TEST_LOGIN } from './support/sshd.js';
import { startStack, type Stack } from './support/stack.js';

const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("ssh") permit (principal, action in [Gateway::Action::"connect", Gateway::Action::"ssh:exec"], resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "ssh" };
`;

interface Event { type: string; data: Record<string, any> }

describe('ssh and a restarting agent process', () => {
  let target: SshTarget;
  let stack: Stack;
  let client: GatewaySsh;
  let agent: AgentProcess;
  let credential: string;
  const dir = mkdtempSync(join(tmpdir(), 'gw-agent-ssh-'));
  const start = (config?: Record<string, unknown>) => {
    const r = target.resource('box');
    return spawnAgent({ controlPlaneUrl: stack.cp.baseUrl, credential, dir, resources: [{ name: r.name, type: r.type, address: r.address, labels: {}, ...r.extra }], ...(config ? { config } : {}) });
  };

  beforeAll(async () => {
    target = await startSshTarget();
    stack = await startStack({ policy: POLICY });
    credential = (await stack.cp.request('POST', '/api/v1/agents', { token: stack.admin, body: { name: 'edge-ssh-proc' } })).body.credential;
    agent = start();
    await stack.waitOnline('box');
    client = gatewaySsh(stack.sshPort, await stack.cp.token('ai-agent'));
  }, 60_000);

  afterAll(async () => {
    await agent?.kill();
    await stack?.close();
    await target?.sshd.remove();
  });

  it('tells the client the agent was lost, serves again after the restart, and ships the spooled recording', async () => {
    const ssh = client.start(`${TEST_LOGIN}@box`, 'echo started; sleep 60');
    await expect.poll(() => ssh.stdout(), { timeout: 10_000 }).toContain('started');
    const id = (await stack.cp.request('GET', '/api/v1/sessions?resource=box', { token: stack.admin })).body.items[0].id as string;
    // Output frames wait up to 50 ms in memory before they reach the spool (a crash loses at most that):
    // kill the agent once the output is on disk, so what follows tests the spool, not that window.
    // The output frame itself (`[t,"o","started…`), not the command text of the ssh.exec event, which
    // also contains the word and is written first.
    await expect.poll(() => spooledLines(join(dir, 'spool'), id), { timeout: 10_000 }).toMatch(/"o","started/);

    await agent.kill('SIGKILL');
    expect(await ssh.exited).toBe(255);
    expect(ssh.stderr()).toContain('gateway: the agent serving "box" was lost');

    agent = start();
    // A cold agent process on a busy 2-core machine can take longer than the stack's 10 s default.
    await expect
      .poll(async () => ((await stack.cp.request('GET', '/api/v1/resources', { token: stack.admin })).body.items as { name: string; online: boolean }[]).find((r) => r.name === 'box')?.online, { timeout: 30_000 })
      .toBe(true);
    expect((await client.ssh(`${TEST_LOGIN}@box`, ['echo back'])).stdout).toBe('back\n');

    await expect
      .poll(async () => {
        const events = (await stack.cp.request('GET', `/api/v1/sessions/${id}/events`, { token: stack.admin })).body.items as Event[];
        const output = events.filter((e) => e.type === 'ssh.io').flatMap((e) => e.data.frames as [number, string, string][]).map((f) => f[2]).join('');
        return events.some((e) => e.type === 'ssh.exec' && e.data.command === 'echo started; sleep 60') && output.includes('started');
      }, { timeout: 15_000 })
      .toBe(true);
    const session = (await stack.cp.request('GET', `/api/v1/sessions/${id}`, { token: stack.admin })).body;
    expect(session.status).toBe('ended');
    expect(session.endReason).toContain('was lost');
  }, 90_000);

  /*
   * An exec's record (command, decision) is fsynced before the command is sent to the target, so a
   * client that saw any output of it cannot lose it to a crash, however soon after the output the agent
   * dies. Output itself is not held (see the agent README): only the command's record is asserted.
   */
  it('SIGKILL right after the clients saw their commands\' first output: every one of those commands is recorded', async () => {
    // The longest flush interval the config allows: a record that merely waited for the timer would
    // still be in memory when the output arrives; the rule must not depend on the interval.
    await agent.kill('SIGTERM');
    await stack.waitOnline('box', false);
    agent = start({ recording: { flushIntervalMs: 1000 } });
    await stack.waitOnline('box');
    const nonce = Date.now().toString(36);
    const commands = [0, 1, 2].map((k) => `echo seen-${k}-${nonce}; sleep 60`);
    const running = commands.map((command) => client.start(`${TEST_LOGIN}@box`, command));
    const saw = () => running.map((r, k) => r.stdout().includes(`seen-${k}-${nonce}`));
    await expect.poll(() => saw().some(Boolean), { timeout: 20_000, interval: 2 }).toBe(true);
    await agent.kill('SIGKILL');
    await Promise.all(running.map((r) => r.exited));
    const seen = commands.filter((_, k) => saw()[k]);

    agent = start();
    await expect
      .poll(async () => ((await stack.cp.request('GET', '/api/v1/resources', { token: stack.admin })).body.items as { name: string; online: boolean }[]).find((r) => r.name === 'box')?.online, { timeout: 30_000 })
      .toBe(true);
    const sessions = (await stack.cp.request('GET', '/api/v1/sessions?resource=box&limit=50', { token: stack.admin })).body.items as { id: string }[];
    await expect
      .poll(async () => {
        const recorded = new Set<string>();
        for (const s of sessions) {
          const events = (await stack.cp.request('GET', `/api/v1/sessions/${s.id}/events`, { token: stack.admin })).body.items as Event[];
          for (const e of events) if (e.type === 'ssh.exec') recorded.add(e.data.command as string);
        }
        return seen.filter((c) => !recorded.has(c));
      }, { timeout: 15_000 })
      .toEqual([]);
  }, 90_000);
});
