import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ssh2 from 'ssh2';
import { gatewaySsh, tmuxSsh, type GatewaySsh } from './support/ssh-client.js';
import { startSshTarget, type SshTarget } from './support/ssh-fixture.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { latestSession, sessionEvents } from './support/session-events.js';
import { TEST_LOGIN } from './support/sshd.js';
import { startStack, type Stack } from './support/stack.js';

const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("ssh-connect")
permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "ssh" && context has login && context.login == "${TEST_LOGIN}" };
@id("ssh-exec")
permit (principal, action == Gateway::Action::"ssh:exec", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "ssh" };
@id("ssh-shell-dev")
permit (principal, action == Gateway::Action::"ssh:shell", resource)
  when { principal.gatewayRoles.contains("requester") && resource.hasTag("env") && resource.getTag("env") == "dev" };
@id("no-rm") @reason("deleting files is not allowed for workloads")
forbid (principal, action == Gateway::Action::"ssh:exec", resource)
  when { context has command && context.command like "*rm *" };
@id("sudo-needs-approval") @approval("required")
permit (principal, action == Gateway::Action::"ssh:exec", resource)
  when { principal.gatewayRoles.contains("requester") && context has command && context.command like "sudo *" };
`;

describe('ssh through the gateway: exec, policy, certificates', () => {
  let target: SshTarget;
  let stack: Stack;
  let client: GatewaySsh;
  let token: string;

  beforeAll(async () => {
    target = await startSshTarget();
    stack = await startStack({ policy: POLICY, resources: [target.resource('box', { env: 'dev' }, undefined, { acceptEnv: ['GW_COLOR', 'BASH_ENV', 'LD_*'] }), target.resource('prod-box', { env: 'prod' }), target.fixedKeyResource('box-fixed')] });
    token = await stack.cp.token('ai-agent');
    client = gatewaySsh(stack.sshPort, token);
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await target?.sshd.remove();
  });

  it('runs a command as the login, with a per-session certificate the target logs by session and principal', async () => {
    const result = await client.ssh(`${TEST_LOGIN}@box`, ['echo hello; id -un; exit 3']);
    expect(result.stdout).toBe(`hello\n${TEST_LOGIN}\n`);
    expect(result.code).toBe(3);
    const sessions = await stack.cp.request('GET', '/api/v1/sessions?resource=box', { token: stack.admin });
    const sessionId = sessions.body.items[0].id as string;
    expect(target.sshd.log()).toMatch(new RegExp(`Accepted publickey for ${TEST_LOGIN} .*ED25519-CERT .*ID gw session=${sessionId} principal=`));
  });

  it('logs in with the fixed key in mode fixed (the weaker fallback: no certificate, no session in the target\'s log)', async () => {
    const result = await client.ssh(`${TEST_LOGIN}@box-fixed`, ['echo fixed-ok']);
    expect(result.stdout).toBe('fixed-ok\n');
    expect(target.sshd.log()).toMatch(new RegExp(`Accepted publickey for ${TEST_LOGIN} from \\S+ port \\d+ ssh2: ED25519 SHA256`));
  });

  it('passes stdin and stderr through', async () => {
    const result = await client.ssh(`${TEST_LOGIN}@box`, ['tr a-z A-Z; echo oops >&2'], { input: 'quiet words\n' });
    expect(result.stdout).toBe('QUIET WORDS\n');
    expect(result.stderr).toContain('oops');
    expect(result.code).toBe(0);
  });

  it('refuses a denied command with the policy on stderr and status 126, and the command never runs', async () => {
    const marker = `/tmp/gw-e2e-keep-${Date.now()}`;
    await client.ssh(`${TEST_LOGIN}@box`, [`touch ${marker}`]);
    const result = await client.ssh(`${TEST_LOGIN}@box`, [`rm -f ${marker}`]);
    expect(result.code).toBe(126);
    expect(result.stderr).toContain('denied by policy "no-rm": deleting files is not allowed for workloads');
    expect((await client.ssh(`${TEST_LOGIN}@box`, [`test -e ${marker} && echo still-there`])).stdout).toBe('still-there\n');
  });

  /** The command approval the gateway created for a held exec, once it is pending. */
  async function pendingCommandApproval(approver: string, command: string): Promise<{ id: string }> {
    let found: { id: string } | undefined;
    await expect
      .poll(async () => {
        const res = await stack.cp.request('GET', '/api/v1/approvals?status=pending', { token: approver });
        found = (res.body.items as { id: string; kind: string; subject: { command?: string } }[]).find((a) => a.kind === 'command' && a.subject.command === command);
        return found !== undefined;
      }, { timeout: 15_000 })
      .toBe(true);
    return found!;
  }

  it('holds a command that needs approval: the client is told the approval id, and it runs only once approved', async () => {
    const approver = await stack.cp.token('approver');
    const command = 'sudo -n true 2>/dev/null; echo ran-after-approval';
    const running = client.ssh(`${TEST_LOGIN}@box`, [command]);
    const approval = await pendingCommandApproval(approver, command);
    const res = await stack.cp.request('POST', `/api/v1/approvals/${approval.id}/approve`, { token: approver, body: { comment: 'go' } });
    expect(res.status).toBe(200);
    const result = await running;
    expect(result.stderr).toContain(`held for approval ${approval.id}`);
    expect(result.stdout).toBe('ran-after-approval\n');
    expect(result.code).toBe(0);
  });

  it('a denied held command never runs: status 126 and the approval named on stderr', async () => {
    const approver = await stack.cp.token('approver');
    const marker = `/tmp/gw-e2e-held-${Date.now()}`;
    const command = `sudo -n true 2>/dev/null; touch ${marker}`;
    const running = client.ssh(`${TEST_LOGIN}@box`, [command]);
    const approval = await pendingCommandApproval(approver, command);
    expect((await stack.cp.request('POST', `/api/v1/approvals/${approval.id}/deny`, { token: approver, body: { comment: 'not today' } })).status).toBe(200);
    const result = await running;
    expect(result.code).toBe(126);
    expect(result.stderr).toMatch(new RegExp(`was denied by .*approval ${approval.id}.*: not today`));
    expect((await client.ssh(`${TEST_LOGIN}@box`, [`test -e ${marker} && echo ran || echo never-ran`])).stdout).toBe('never-ran\n');
  });

  it('passes environment variables the target accepts', async () => {
    const result = await client.ssh(`${TEST_LOGIN}@box`, ['-o', 'SetEnv=GW_COLOR=blue', 'echo "color=$GW_COLOR"']);
    expect(result.stdout).toBe('color=blue\n');
  });

  it('passes only the variables the resource accepts, and never those that change what a command runs', async () => {
    // The target would take all of these (its AcceptEnv lists them); the resource accepts GW_COLOR, and
    // lists BASH_ENV and LD_* too, which are refused whatever the list says: bash would source the file.
    const script = join(target.sshd.dir, 'bash-env.sh');
    writeFileSync(script, 'echo injected-by-bash-env\n', { mode: 0o644 });
    const result = await client.ssh(`${TEST_LOGIN}@box`, [
      '-o', `SetEnv=BASH_ENV=${script} LD_PRELOAD=/nonexistent.so GW_COLOR=blue GW_HIDDEN=seen`,
      'echo "color=$GW_COLOR hidden=$GW_HIDDEN preload=$LD_PRELOAD"',
    ]);
    expect(result.stdout).toBe('color=blue hidden= preload=\n');
    const events = await sessionEvents(stack, await latestSession(stack), (ev) => ev.some((e) => e.type === 'ssh.exec'));
    const refused = events.filter((e) => e.type === 'ssh.refused').map((e) => e.data);
    expect(refused).toEqual(expect.arrayContaining([
      expect.objectContaining({ request: 'env BASH_ENV', reason: 'BASH_ENV changes what the command runs' }),
      expect.objectContaining({ request: 'env LD_PRELOAD', reason: 'LD_PRELOAD changes what the command runs' }),
      expect.objectContaining({ request: 'env GW_HIDDEN', reason: "GW_HIDDEN is not in the resource's ssh.acceptEnv" }),
    ]));
    expect(events.find((e) => e.type === 'ssh.exec')?.data.env).toEqual({ GW_COLOR: 'blue' });
  });

  it('keeps the connection usable after a denial (two channels on one connection), and delivers signals', async () => {
    const conn = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      conn.once('ready', resolve).once('error', reject);
      conn.connect({ host: '127.0.0.1', port: stack.sshPort, username: `${TEST_LOGIN}@box`, password: token, hostVerifier: () => true });
    });
    const exec = (command: string) =>
      new Promise<{ out: string; err: string; code: number }>((resolve, reject) => {
        conn.exec(command, (error, channel) => {
          if (error) return reject(error);
          let out = '';
          let err = '';
          let code = -1;
          channel.on('data', (c: Buffer) => (out += c.toString()));
          channel.stderr.on('data', (c: Buffer) => (err += c.toString()));
          channel.on('exit', (c: number) => (code = c));
          channel.on('close', () => resolve({ out, err, code }));
        });
      });
    try {
      const denied = await exec('rm -rf /nothing');
      expect(denied.code).toBe(126);
      expect(denied.err).toContain('no-rm');
      expect(await exec('echo after')).toEqual({ out: 'after\n', err: '', code: 0 });
      const signalled = await new Promise<{ code: number | null; signal?: string }>((resolve, reject) => {
        conn.exec('echo ready; sleep 30', (error, channel) => {
          if (error) return reject(error);
          channel.on('data', () => channel.signal('TERM'));
          channel.on('exit', (code: number | null, signal?: string) => resolve({ code, signal }));
          channel.stderr.resume();
        });
      });
      expect(signalled).toEqual({ code: null, signal: 'SIGTERM' }); // ssh2 names it SIGTERM; the wire carries "TERM"
    } finally {
      conn.end();
    }
  });

  it('gives an interactive shell with a terminal: keystrokes, resize, exit status', async () => {
    const term = await tmuxSsh(client, stack.sshPort, `${TEST_LOGIN}@box`);
    try {
      await term.send('echo "tty=$(tty) term=$TERM"; echo $((6*7))', 'Enter');
      const screen = await term.waitFor(/^42$/m);
      expect(screen).toMatch(/tty=\/dev\/pts\/\d+ term=\S+/);
      await term.resize(90, 20);
      await term.send('stty size', 'Enter');
      await term.waitFor('20 90');
      await term.send('exit 7', 'Enter');
      expect(await term.exited()).toBe(7);
    } finally {
      await term.kill();
    }
  });

  it('refuses a shell where policy does not permit one, with the reason', async () => {
    const result = await client.ssh(`${TEST_LOGIN}@prod-box`, ['-tt'], { input: 'echo should-not-run\nexit\n' });
    expect(result.code).toBe(126);
    expect(result.stdout + result.stderr).toContain('interactive shell denied');
    expect(result.stdout).not.toContain('should-not-run\r\nshould-not-run');
  });

  it('refuses a login that connect policy does not allow, saying why', async () => {
    const result = await client.ssh('root@box', ['true']);
    expect(result.code).toBe(255);
    expect(result.stderr).toContain('gateway: not allowed to connect to "box"');
  });

  it('refuses a bad token and a malformed user name at authentication', async () => {
    expect((await client.ssh(`${TEST_LOGIN}@box`, ['true'], { token: 'not-a-token' })).stderr).toContain('Permission denied');
    expect((await client.ssh('no-resource-here', ['true'])).stderr).toContain('Permission denied');
  });

  it('takes the token through keyboard-interactive as well', async () => {
    const result = await client.ssh(`${TEST_LOGIN}@box`, ['-o', 'PreferredAuthentications=keyboard-interactive', 'echo kbd-ok']);
    expect(result.stdout).toBe('kbd-ok\n');
  });

  it('ends a live session when an admin kills it, telling the client', async () => {
    const ssh = client.start(`${TEST_LOGIN}@box`, 'echo started; sleep 60');
    await expect.poll(() => ssh.stdout(), { timeout: 10_000 }).toContain('started');
    const live = (await stack.cp.request('GET', '/api/v1/sessions?resource=box&status=active', { token: stack.admin })).body.items[0];
    expect((await stack.cp.request('POST', `/api/v1/sessions/${live.id}/kill`, { token: stack.admin })).status).toBe(202);
    expect(await ssh.exited).toBe(255);
    expect(ssh.stderr()).toContain('gateway: session killed by');
    await expect.poll(async () => (await stack.cp.request('GET', `/api/v1/sessions/${live.id}`, { token: stack.admin })).body.status, { timeout: 5000 }).toBe('killed');
  });

  it('does not forward the agent or X11', async () => {
    const result = await client.ssh(`${TEST_LOGIN}@box`, ['-o', 'ForwardAgent=yes', '-o', 'ForwardX11=yes', 'echo "agent=[$SSH_AUTH_SOCK] display=[$DISPLAY]"'], {});
    expect(result.stdout).toBe('agent=[] display=[]\n');
  });
});
