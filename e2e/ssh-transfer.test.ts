import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewaySsh, type GatewaySsh } from './support/ssh-client.js';
import { startSshTarget, type SshTarget } from './support/ssh-fixture.js';
import { freePort, TEST_LOGIN } from './support/sshd.js';
import { startStack, type Stack } from './support/stack.js';
import { generateEd25519KeyPair } from '@gw/ssh-relay';
import { latestSession, sessionEvents, type SessionEvent } from './support/session-events.js';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function echoServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ port: (server.address() as net.AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) }),
    ),
  );
}

function echoThrough(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('error', reject);
    s.on('data', (c: Buffer) => {
      got += c.toString();
      if (got.length >= text.length) s.end();
    });
    s.on('close', () => resolve(got));
    s.write(text);
  });
}

describe('ssh transfers through the gateway: sftp, scp, port forwarding, failures', () => {
  let target: SshTarget;
  let stack: Stack;
  let client: GatewaySsh;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  const work = mkdtempSync(join(tmpdir(), 'gw-ssh-transfer-'));
  const remoteDir = `/home/${TEST_LOGIN}/gw-e2e-${randomBytes(3).toString('hex')}`;

  // Transfers ship larger recordings: a longer wait than the default.
  const eventsOf = (id: string, until: (events: SessionEvent[]) => boolean) => sessionEvents(stack, id, until, 15_000);
  const scpArgs = (...rest: string[]) => [...client.options, '-P', String(stack.sshPort), '-o', `User=${TEST_LOGIN}@box`, ...rest];

  beforeAll(async () => {
    echo = await echoServer();
    target = await startSshTarget();
    const policy = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("ssh-basic") permit (principal, action in [Gateway::Action::"connect", Gateway::Action::"ssh:exec"], resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "ssh" };
@id("sftp-unless-locked") permit (principal, action == Gateway::Action::"ssh:sftp", resource)
  when { principal.gatewayRoles.contains("requester") && !resource.hasTag("locked") };
@id("no-opaque") forbid (principal, action in [Gateway::Action::"ssh:exec", Gateway::Action::"ssh:shell"], resource)
  when { context has opaque && context.opaque };
@id("forward-to-echo") permit (principal, action == Gateway::Action::"ssh:forward", resource)
  when { principal.gatewayRoles.contains("requester") && context has host && context.host == "127.0.0.1" && context has port && context.port == ${echo.port} };
`;
    const downPort = await freePort();
    stack = await startStack({
      policy,
      resources: [
        target.resource('box', {}, undefined, { hostKeysFile: true }),
        target.resource('vault', { locked: 'yes' }),
        target.resource('box-down', {}, `127.0.0.1:${downPort}`),
        // The agent expects another host key than the one this sshd presents (a man in the middle, or a rebuilt host).
        { ...target.resource('impostor'), extra: { ssh: { hostKeys: [generateEd25519KeyPair().public], caKeyFile: target.caKeyFile } } },
      ],
    });
    client = gatewaySsh(stack.sshPort, await stack.cp.token('ai-agent'));
    expect((await client.ssh(`${TEST_LOGIN}@box`, [`mkdir -p ${remoteDir}`])).code).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await target?.sshd.remove();
    await echo?.close();
    rmSync(remoteDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('copies a file up and down with scp (the SFTP protocol), byte for byte, and records the transfers', async () => {
    const local = join(work, 'up.bin');
    writeFileSync(local, randomBytes(5 * 1024 * 1024 + 123));
    const up = await client.run('scp', scpArgs(local, `127.0.0.1:${remoteDir}/up.bin`));
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(sha256(`${remoteDir}/up.bin`)).toBe(sha256(local));
    const upId = await latestSession(stack);

    const down = join(work, 'down.bin');
    expect((await client.run('scp', scpArgs(`127.0.0.1:${remoteDir}/up.bin`, down))).code).toBe(0);
    expect(sha256(down)).toBe(sha256(local));

    const events = await eventsOf(upId, (ev) => ev.some((e) => e.type === 'ssh.sftp' && e.data.op === 'write'));
    expect(events.find((e) => e.type === 'ssh.sftp.start')?.data).toMatchObject({ decision: 'allow', policies: ['sftp-unless-locked'] });
    expect(events.find((e) => e.type === 'ssh.sftp' && e.data.op === 'write')?.data).toMatchObject({
      path: `${remoteDir}/up.bin`, bytesWritten: 5 * 1024 * 1024 + 123, status: 'ok',
    });
    const downEvents = await eventsOf(await latestSession(stack), (ev) => ev.some((e) => e.type === 'ssh.sftp' && e.data.op === 'read'));
    expect(downEvents.find((e) => e.type === 'ssh.sftp' && e.data.op === 'read')?.data).toMatchObject({ path: `${remoteDir}/up.bin`, bytesRead: 5 * 1024 * 1024 + 123 });
  });

  it('syncs a directory up and down with rsync over ssh (its remote rsync --server passes command policy), byte for byte', async () => {
    const up = join(work, 'rsync-up');
    const down = join(work, 'rsync-down');
    mkdirSync(join(up, 'sub'), { recursive: true });
    writeFileSync(join(up, 'a.bin'), randomBytes(300 * 1024));
    writeFileSync(join(up, 'sub', 'b.txt'), 'rsync through the gateway\n');
    const rsh = ['ssh', ...client.options, '-p', String(stack.sshPort), '-l', `${TEST_LOGIN}@box`].join(' ');
    const push = await client.run('rsync', ['-a', '-e', rsh, `${up}/`, `127.0.0.1:${remoteDir}/rsync/`], { timeoutMs: 30_000 });
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    expect(sha256(`${remoteDir}/rsync/a.bin`)).toBe(sha256(join(up, 'a.bin')));
    const pushId = await latestSession(stack);
    const pull = await client.run('rsync', ['-a', '-e', rsh, `127.0.0.1:${remoteDir}/rsync/`, `${down}/`], { timeoutMs: 30_000 });
    expect(pull.code).toBe(0);
    expect([sha256(join(down, 'a.bin')), readFileSync(join(down, 'sub', 'b.txt'), 'utf8')]).toEqual([sha256(join(up, 'a.bin')), 'rsync through the gateway\n']);

    const events = await eventsOf(pushId, (ev) => ev.some((e) => e.type === 'ssh.exec'));
    expect(events.find((e) => e.type === 'ssh.exec')?.data).toMatchObject({ command: expect.stringMatching(/^rsync --server /) as unknown, decision: 'allow' });
    // The capability string is let through only in that shape: a real remote shell for -e is not.
    const smuggled = await client.ssh(`${TEST_LOGIN}@box`, [`rsync --server -e 'sh -c id' . ${remoteDir}/x`]);
    expect(smuggled.code).toBe(126);
    expect(smuggled.stderr).toMatch(/denied by policy "no-opaque"/);
  }, 60_000);

  it('runs an sftp batch (mkdir, put, rename, ls, rm) and records each operation', async () => {
    const local = join(work, 'batch.txt');
    writeFileSync(local, 'sftp batch content\n');
    const batch = join(work, 'batch');
    writeFileSync(batch, [`mkdir ${remoteDir}/sub`, `put ${local} ${remoteDir}/sub/a.txt`, `rename ${remoteDir}/sub/a.txt ${remoteDir}/sub/b.txt`, `ls ${remoteDir}/sub`, `rm ${remoteDir}/sub/b.txt`, `rmdir ${remoteDir}/sub`, ''].join('\n'));
    const result = await client.run('sftp', [...client.options, '-P', String(stack.sshPort), '-b', batch, `${TEST_LOGIN}@box@127.0.0.1`]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('b.txt');
    const events = await eventsOf(await latestSession(stack), (ev) => ev.some((e) => e.type === 'ssh.sftp' && e.data.op === 'rmdir'));
    const ops = events.filter((e) => e.type === 'ssh.sftp').map((e) => ({ op: e.data.op, path: e.data.path, status: e.data.status }));
    expect(ops).toEqual(expect.arrayContaining([
      { op: 'mkdir', path: `${remoteDir}/sub`, status: 'ok' },
      { op: 'write', path: `${remoteDir}/sub/a.txt`, status: 'ok' },
      { op: 'rename', path: `${remoteDir}/sub/a.txt`, status: 'ok' },
      { op: 'remove', path: `${remoteDir}/sub/b.txt`, status: 'ok' },
      { op: 'rmdir', path: `${remoteDir}/sub`, status: 'ok' },
    ]));
  });

  it('refuses sftp and scp where policy forbids ssh:sftp, saying why', async () => {
    const local = join(work, 'nope.txt');
    writeFileSync(local, 'x');
    const result = await client.run('scp', [...client.options, '-P', String(stack.sshPort), '-o', `User=${TEST_LOGIN}@vault`, local, `127.0.0.1:${remoteDir}/nope.txt`]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('sftp denied');
    expect(() => statSync(`${remoteDir}/nope.txt`)).toThrow();
  });

  it('forwards a local port with ssh -L where policy allows the destination, and refuses others', async () => {
    const localPort = await freePort();
    const deniedPort = await freePort();
    const tunnel = spawn('ssh', [...client.options, '-N', '-p', String(stack.sshPort), '-l', `${TEST_LOGIN}@box`,
      '-L', `${localPort}:127.0.0.1:${echo.port}`, '-L', `${deniedPort}:127.0.0.1:${target.sshd.port}`, '127.0.0.1'], { env: client.env, stdio: ['ignore', 'ignore', 'pipe'] });
    tunnel.stderr.resume();
    try {
      await expect.poll(() => echoThrough(localPort, 'through the tunnel').catch(() => ''), { timeout: 10_000 }).toBe('through the tunnel');
      expect(await echoThrough(deniedPort, 'blocked').catch(() => '')).toBe('');
      const events = await eventsOf(await latestSession(stack), (ev) => ev.filter((e) => e.type === 'ssh.forward').length >= 2);
      const forwards = events.filter((e) => e.type === 'ssh.forward').map((e) => ({ port: e.data.port, decision: e.data.decision }));
      expect(forwards).toEqual(expect.arrayContaining([{ port: echo.port, decision: 'allow' }, { port: target.sshd.port, decision: 'deny' }]));
    } finally {
      tunnel.kill();
    }
  });

  it('says clearly when the target is down', async () => {
    const result = await client.ssh(`${TEST_LOGIN}@box-down`, ['true']);
    expect(result.code).toBe(255);
    expect(result.stderr).toContain('gateway: could not open "box-down": ssh target box-down refused the connection (ECONNREFUSED)');
    const session = (await stack.cp.request('GET', '/api/v1/sessions?resource=box-down', { token: stack.admin })).body.items[0];
    expect(session.status).toBe('failed');
  });

  it('refuses a target whose host key is not the configured one', async () => {
    const result = await client.ssh(`${TEST_LOGIN}@impostor`, ['true']);
    expect(result.code).toBe(255);
    expect(result.stderr).toContain("ssh target impostor presented a host key that is not in the agent's hostKeys for it; refused");
  });

  it('survives a client that disconnects in the middle of an upload: the transfer is recorded as interrupted', async () => {
    const local = join(work, 'big.bin');
    writeFileSync(local, randomBytes(64 * 1024 * 1024));
    const scp = spawn('scp', scpArgs('-l', '8000', local, `127.0.0.1:${remoteDir}/big.bin`), { env: client.env, stdio: 'ignore' });
    await expect.poll(() => { try { return statSync(`${remoteDir}/big.bin`).size; } catch { return 0; } }, { timeout: 15_000 }).toBeGreaterThan(0);
    const id = await latestSession(stack);
    scp.kill('SIGKILL');
    const events = await eventsOf(id, (ev) => ev.some((e) => e.type === 'session.end'));
    const write = events.find((e) => e.type === 'ssh.sftp' && e.data.path === `${remoteDir}/big.bin`);
    expect(write?.data).toMatchObject({ op: 'write', status: 'interrupted' });
    expect(write?.data.bytesWritten).toBeGreaterThan(0);
    expect(write?.data.bytesWritten).toBeLessThan(64 * 1024 * 1024);
    await expect.poll(async () => (await stack.cp.request('GET', `/api/v1/sessions/${id}`, { token: stack.admin })).body.status, { timeout: 10_000 }).toBe('ended');
    expect((await client.ssh(`${TEST_LOGIN}@box`, ['echo still-serving'])).stdout).toBe('still-serving\n');
  });
});
