import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewaySsh, tmuxSsh, type GatewaySsh } from './support/ssh-client.js';
import { startSshTarget, type SshTarget } from './support/ssh-fixture.js';
import { TEST_LOGIN } from './support/sshd.js';
import { startStack, type Stack } from './support/stack.js';
import { latestSession, sessionEvents } from './support/session-events.js';

const run = promisify(execFile);

const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("ssh-all") @max_session("10m") permit (principal, action in [Gateway::Action::"connect", Gateway::Action::"ssh:exec", Gateway::Action::"ssh:shell"], resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "ssh" };
@id("no-shutdown") @reason("workloads may not stop hosts")
forbid (principal, action == Gateway::Action::"ssh:exec", resource) when { context has command && context.command like "*shutdown*" };
`;

describe('ssh recordings: events and asciicast v2', () => {
  let target: SshTarget;
  let stack: Stack;
  let client: GatewaySsh;


  beforeAll(async () => {
    target = await startSshTarget();
    stack = await startStack({ policy: POLICY, resources: [target.resource('box')] });
    client = gatewaySsh(stack.sshPort, await stack.cp.token('ai-agent'));
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await target?.sshd.remove();
  });

  it('records a terminal (output, input, resize) and serves it as a cast that asciinema reads', async () => {
    const term = await tmuxSsh(client, stack.sshPort, `${TEST_LOGIN}@box`, { cols: 100, rows: 30 });
    try {
      await term.send('echo recorded-$((40+2))', 'Enter');
      await term.waitFor(/^recorded-42$/m);
      await term.resize(90, 20);
      await term.send('stty size', 'Enter');
      await term.waitFor('20 90');
      await term.send('exit', 'Enter');
      expect(await term.exited()).toBe(0);
    } finally {
      await term.kill();
    }
    const id = await latestSession(stack);
    await sessionEvents(stack, id, (events) => events.some((e) => e.type === 'session.end'));

    const res = await fetch(`${stack.cp.baseUrl}/api/v1/sessions/${id}/recording.cast`, { headers: { authorization: `Bearer ${stack.admin}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-asciicast');
    const cast = await res.text();
    const [headerLine, ...frameLines] = cast.trimEnd().split('\n');
    const header = JSON.parse(headerLine!);
    expect(header).toMatchObject({ version: 2, width: 100, height: 30 });
    expect(typeof header.timestamp).toBe('number');
    const frames = frameLines.map((l) => JSON.parse(l) as [number, string, string]);
    expect(frames.some(([, code, data]) => code === 'o' && data.includes('recorded-42'))).toBe(true);
    expect(frames.filter(([, code]) => code === 'i').map(([, , d]) => d).join('')).toContain('echo recorded-$((40+2))');
    expect(frames).toContainEqual([expect.any(Number), 'r', '90x20']);
    const times = frames.map(([t]) => t);
    expect(times).toEqual([...times].sort((a, b) => a - b));

    const file = join(mkdtempSync(join(tmpdir(), 'gw-cast-')), 'session.cast');
    writeFileSync(file, cast);
    // asciinema 2.2 opens /dev/tty even for `cat`: give it one with script(1).
    const { stdout } = await run('script', ['-qec', `asciinema cat ${file}`, '/dev/null']);
    expect(stdout).toContain('recorded-42');
  });

  it('records commands with their decision, output and exit status', async () => {
    const before = Math.floor(Date.now() / 1000);
    expect((await client.ssh(`${TEST_LOGIN}@box`, ['echo exec-output; echo exec-err >&2; exit 4'])).code).toBe(4);
    const allowedId = await latestSession(stack);
    const events = await sessionEvents(stack, allowedId, (ev) => ev.some((e) => e.type === 'session.end'));
    expect(events.find((e) => e.type === 'ssh.session')?.data).toMatchObject({ login: TEST_LOGIN, resource: 'box', mode: 'certificate', certificate: { keyId: expect.stringContaining(`session=${allowedId}`) } });
    expect(events.find((e) => e.type === 'ssh.exec')?.data).toMatchObject({ command: 'echo exec-output; echo exec-err >&2; exit 4', decision: 'allow', policies: ['ssh-all'] });
    // The certificate is valid no longer than the session may last (@max_session 10m).
    const { validAfter, validBefore } = events.find((e) => e.type === 'ssh.session')!.data.certificate as { validAfter: number; validBefore: number };
    expect(validAfter).toBeLessThanOrEqual(before);
    expect(validBefore).toBeGreaterThan(before + 590);
    expect(validBefore).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 600);
    const frames = events.filter((e) => e.type === 'ssh.io').flatMap((e) => e.data.frames as [number, string, string][]);
    expect(frames.filter(([, k]) => k === 'o').map(([, , d]) => d).join('')).toBe('exec-output\n');
    expect(frames.filter(([, k]) => k === 'e').map(([, , d]) => d).join('')).toBe('exec-err\n');
    expect(events.find((e) => e.type === 'ssh.exit')?.data).toMatchObject({ code: 4 });

    expect((await client.ssh(`${TEST_LOGIN}@box`, ['sudo shutdown -h now'])).code).toBe(126);
    const deniedId = await latestSession(stack);
    const denied = await sessionEvents(stack, deniedId, (ev) => ev.some((e) => e.type === 'ssh.exec'));
    expect(denied.find((e) => e.type === 'ssh.exec')?.data).toMatchObject({ command: 'sudo shutdown -h now', decision: 'deny', policies: ['no-shutdown'], reasons: ['workloads may not stop hosts'] });
  });

  it('serves the cast of a command, to auditors but not to requesters; 404 without a terminal', async () => {
    await client.ssh(`${TEST_LOGIN}@box`, ['printf "line1\\nline2\\n"']);
    const id = await latestSession(stack);
    await sessionEvents(stack, id, (ev) => ev.some((e) => e.type === 'session.end'));
    const auditor = await stack.cp.token('auditor');
    const ok = await stack.cp.request('GET', `/api/v1/sessions/${id}/recording.cast`, { token: auditor });
    expect(ok.status).toBe(200);
    expect(String(ok.body)).toContain('"command":"printf');
    const requester = await stack.cp.token('ai-agent');
    expect((await stack.cp.request('GET', `/api/v1/sessions/${id}/recording.cast`, { token: requester })).status).toBe(403);

    await client.ssh(`${TEST_LOGIN}@box`, ['sudo shutdown -h now']);
    const deniedOnly = await latestSession(stack);
    await sessionEvents(stack, deniedOnly, (ev) => ev.some((e) => e.type === 'session.end'));
    const none = await stack.cp.request('GET', `/api/v1/sessions/${deniedOnly}/recording.cast`, { token: stack.admin });
    expect(none.status).toBe(404);
    expect(none.body.message).toContain('no terminal recording');
  });
});
