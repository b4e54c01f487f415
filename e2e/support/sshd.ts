import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real OpenSSH sshd on a random high port, with its own config, host key and trusted CA file. */
export interface Sshd {
  port: number;
  address: string;
  /** The target's host public key line (`ssh-ed25519 AAAA...`), for the agent's `hostKeys`. */
  hostKey: string;
  dir: string;
  /** Everything sshd wrote to stderr (`-e`): auth log lines name the certificate's key id. */
  log(): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops sshd and deletes its directory. */
  remove(): Promise<void>;
}

export const TEST_LOGIN = 'gwtest';

/** Creates the throwaway login the tests use (tests run as root here and in CI). */
export function ensureTestUser(login = TEST_LOGIN): void {
  try {
    execFileSync('id', [login], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', login], { stdio: 'ignore' });
  }
  // A new account's password is "!" (locked), and sshd refuses every login to a locked account,
  // certificates included; "*" means "no password" without locking.
  execFileSync('usermod', ['-p', '*', login], { stdio: 'ignore' });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts sshd (`-D -e`) trusting `caPublicKey` (a `TrustedUserCAKeys` line) for user certificates. */
export async function startSshd(opts: { caPublicKey?: string; authorizedKey?: string; login?: string } = {}): Promise<Sshd> {
  const login = opts.login ?? TEST_LOGIN;
  ensureTestUser(login);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), 'gw-sshd-'));
  chmodSync(dir, 0o755); // sshd reads authorized_keys as the login
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  writeFileSync(join(dir, 'trusted_ca'), `${opts.caPublicKey ?? ''}\n`);
  writeFileSync(join(dir, 'authorized_keys'), `${opts.authorizedKey ?? ''}\n`, { mode: 0o644 });
  const port = await freePort();
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      `TrustedUserCAKeys ${join(dir, 'trusted_ca')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'AllowTcpForwarding yes',
      'X11Forwarding no',
      'Subsystem sftp internal-sftp',
      // The target accepts more than the gateway passes: e2e/ssh-exec shows the gateway refusing them.
      'AcceptEnv GW_* BASH_ENV LD_PRELOAD',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  let output = '';
  const sshd: Sshd = {
    port,
    address: `127.0.0.1:${port}`,
    hostKey: readFileSync(join(dir, 'host_key.pub'), 'utf8').trim(),
    dir,
    log: () => output,
    async start() {
      child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const deadline = Date.now() + 10_000;
      while (!output.includes('Server listening')) {
        if (child.exitCode !== null) throw new Error(`sshd exited: ${output}`);
        if (Date.now() > deadline) throw new Error(`sshd did not start: ${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
      });
    },
    async remove() {
      await sshd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await sshd.start();
  return sshd;
}
