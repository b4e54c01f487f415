import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewaySsh, tmuxSsh, type GatewaySsh } from './support/ssh-client.js';
import { startSshTarget, type SshTarget } from './support/ssh-fixture.js';
import { TEST_LOGIN } from './support/sshd.js';
import { startStack, type Stack } from './support/stack.js';
import { latestSession, sessionEvents, type SessionEvent } from './support/session-events.js';

const run = promisify(execFile);
const HOST = `${TEST_LOGIN}@box`;

/**
 * The connect permit masks entities for the whole session; the exec/shell permit adds a stronger style
 * for e-mail (full beats partial). A refused `ssh host bash` has only the connect obligation.
 */
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("ssh-connect") @mask("email:partial, card:full, ssn:full, phone:partial, iban:partial")
permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") && resource.type == "ssh" };
@id("ssh-run") @mask("email:full")
permit (principal, action in [Gateway::Action::"ssh:exec", Gateway::Action::"ssh:shell"], resource) when { principal.gatewayRoles.contains("requester") && resource.type == "ssh" };
@id("no-exec-of-shells") @reason("no shells by exec")
forbid (principal, action == Gateway::Action::"ssh:shell", resource) when { principal.gatewayRoles.contains("requester") && context has command };
`;

/** PII in several spellings; none of these may be in a masked recording. */
const CLEAR = ['4111 1111 1111 1111', '4111-1111-1111-1111', '4111111111111111', 'lovelace', '536-22-1234', 'DE89 3704 0044 0532 0130 00', '+44 20 7946 0958'];
const PII_TEXT = 'card 4111 1111 1111 1111\nmail ada.lovelace@example.com\nssn 536-22-1234\niban DE89 3704 0044 0532 0130 00\ncall +44 20 7946 0958\n';

const ioText = (events: SessionEvent[], kind: string): string =>
  events.filter((e) => e.type === 'ssh.io').flatMap((e) => e.data['frames'] as [number, string, string][]).filter(([, k]) => k === kind).map(([, , d]) => d).join('');

function expectNoClearValue(recorded: string): void {
  for (const value of CLEAR) expect(recorded, `recording holds ${value}`).not.toContain(value);
}

describe('ssh recordings are masked by the session\'s masking obligations', () => {
  let target: SshTarget;
  let stack: Stack;
  let workload: GatewaySsh;

  beforeAll(async () => {
    target = await startSshTarget();
    stack = await startStack({ policy: POLICY, resources: [target.resource('box')] });
    workload = gatewaySsh(stack.sshPort, await stack.cp.token('ai-agent'));
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await target?.sshd.remove();
  });

  const ended = (events: SessionEvent[]) => events.some((e) => e.type === 'session.end');

  it('masks exec stdin, output and the command line; the client gets the output masked as well', async () => {
    const result = await workload.ssh(HOST, ['echo 4111-1111-1111-1111; cat'], { input: PII_TEXT });
    expect(result.code, result.stderr).toBe(0);
    const expected = 'card **** **** **** ****\nmail ***.********@*******.***\nssn ***-**-****\niban **** **** **** **** **30 00\ncall +** ** **** 0958\n';
    expect(result.stdout).toBe(`****-****-****-****\n${expected}`);
    const id = await latestSession(stack);
    const events = await sessionEvents(stack, id, ended);
    expect(events.find((e) => e.type === 'ssh.exec')?.data).toMatchObject({ command: 'echo ****-****-****-****; cat', decision: 'allow' });
    expect(ioText(events, 'i')).toBe(expected);
    expect(ioText(events, 'o')).toBe(`****-****-****-****\n${expected}`);
    expectNoClearValue(JSON.stringify(events));

    const cast = await stack.cp.request('GET', `/api/v1/sessions/${id}/recording.cast`, { token: stack.admin });
    expect(cast.status).toBe(200);
    expectNoClearValue(String(cast.body));
    expect(JSON.parse(String(cast.body).split('\n')[0]!)).toMatchObject({ command: 'echo ****-****-****-****; cat' });
  });

  it('masks a command\'s stderr, and a value its output cuts in two, before the client sees them; exit status and binary bytes come through', async () => {
    const result = await workload.ssh(HOST, ["printf 'mail ada.love'; sleep 0.1; printf 'lace@example.com\\n'; echo 536-22-1234 >&2; head -c 4 /dev/zero | tr '\\0' '\\377'; exit 3"]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('mail ***.********@*******.***\n\uFFFD\uFFFD\uFFFD\uFFFD');
    expect(result.stderr).toBe('***-**-****\n');
  });

  it('passes a file copy (scp -O, whose target end is `scp -f`) byte for byte: a copy is decided and recorded, not rewritten', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-scp-pii-'));
    const admin = gatewaySsh(stack.sshPort, stack.admin);
    const remote = `/tmp/gw-scp-pii-${process.pid}-${Date.now()}.txt`;
    expect((await admin.ssh(HOST, [`cat > ${remote}`], { input: PII_TEXT })).code).toBe(0);
    const local = join(dir, 'copy.txt');
    const copied = await workload.run('scp', [...workload.options, '-O', '-P', String(stack.sshPort), '-o', `User=${HOST}`, `127.0.0.1:${remote}`, local]);
    expect(copied.code, copied.stderr).toBe(0);
    expect(readFileSync(local, 'utf8')).toBe(PII_TEXT);
    await admin.ssh(HOST, [`rm -f ${remote}`]);
  });

  it('masks what is piped into a refused `ssh host bash` with the connect obligation', async () => {
    const script = 'echo ada.lovelace@example.com\necho "4111 1111 1111 1111"\n';
    const result = await workload.ssh(HOST, ['bash'], { input: script });
    expect(result.code).toBe(126);
    const id = await latestSession(stack);
    const events = await sessionEvents(stack, id, (ev) => ended(ev) && ev.some((e) => e.type === 'ssh.io'));
    expect(events.find((e) => e.type === 'ssh.exec')?.data).toMatchObject({ command: 'bash', decision: 'deny', policies: ['no-exec-of-shells'] });
    // Only the connect permit's obligation applies (the forbid has none): e-mail partial.
    expect(ioText(events, 'i')).toBe('echo a***********@example.com\necho "**** **** **** ****"\n');
    expectNoClearValue(JSON.stringify(events));
  });

  it('masks a terminal session: keystrokes, echo and output, in the events and the cast', async () => {
    const term = await tmuxSsh(workload, stack.sshPort, HOST, { cols: 120, rows: 30 });
    try {
      // Typed in pieces, so the value reaches the agent split across channel data chunks.
      for (const piece of ['echo ada.love', 'lace@exam', 'ple.com 4111 11', '11 1111 1111']) await term.send('-l', piece);
      await term.send('Enter');
      await term.waitFor(/^ada\.lovelace@example\.com 4111 1111 1111 1111$/m);
      await term.send('printf "%s\\n" 536-22-1234', 'Enter');
      await term.waitFor(/^536-22-1234$/m);
      await term.send('exit', 'Enter');
      expect(await term.exited()).toBe(0);
    } finally {
      await term.kill();
    }
    const id = await latestSession(stack);
    const events = await sessionEvents(stack, id, ended);
    expect(ioText(events, 'o')).toContain('***.********@*******.*** **** **** **** ****');
    expectNoClearValue(JSON.stringify(events));

    const res = await fetch(`${stack.cp.baseUrl}/api/v1/sessions/${id}/recording.cast`, { headers: { authorization: `Bearer ${stack.admin}` } });
    expect(res.status).toBe(200);
    const cast = await res.text();
    expectNoClearValue(cast);
    const frames = cast.trimEnd().split('\n').slice(1).map((l) => JSON.parse(l) as [number, string, string]);
    const times = frames.map(([t]) => t);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const file = join(mkdtempSync(join(tmpdir(), 'gw-cast-')), 'session.cast');
    writeFileSync(file, cast);
    const { stdout } = await run('script', ['-qec', `asciinema cat ${file}`, '/dev/null']);
    expect(stdout).toContain('***-**-****');
    expectNoClearValue(stdout);
  });

  it('records in clear where no permit asks for masking (the admin permit has no @mask)', async () => {
    const admin = gatewaySsh(stack.sshPort, stack.admin);
    const result = await admin.ssh(HOST, ['cat'], { input: PII_TEXT });
    expect(result.code, result.stderr).toBe(0);
    const id = await latestSession(stack);
    const events = await sessionEvents(stack, id, ended);
    expect(ioText(events, 'i')).toBe(PII_TEXT);
    expect(ioText(events, 'o')).toBe(PII_TEXT);
  });
});
