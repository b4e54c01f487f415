import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real redis-server that speaks only TLS (no plain port), with a certificate from a CA made for
 * the test, and an ACL: the default user is off, `gw` logs in with a password.
 */
export interface TlsAclRedis {
  port: number;
  caFile: string;
  /** A CA that did not sign the server's certificate. */
  otherCaFile: string;
  user: string;
  password: string;
  dir: string;
  stop(): Promise<void>;
}

export async function startTlsAclRedis(): Promise<TlsAclRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-redis-tls-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=gw test redis CA');
  openssl('req', '-x509', ...ec, '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-days', '1', '-subj', '/CN=unrelated CA');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'ext');
  const password = `pw-${Math.random().toString(36).slice(2)}-secret`;
  writeFileSync(join(dir, 'users.acl'), `user default off\nuser gw on >${password} ~* &* +@all\n`);
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', [
    '--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1',
    '--tls-cert-file', join(dir, 'server.crt'), '--tls-key-file', join(dir, 'server.key'),
    '--tls-ca-cert-file', join(dir, 'ca.crt'), '--tls-auth-clients', 'no',
    '--aclfile', join(dir, 'users.acl'), '--save', '', '--appendonly', 'no', '--dir', dir,
  ], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null) throw new Error('redis-server with TLS did not start (built without TLS?)');
    if (Date.now() > deadline) throw new Error('redis-server with TLS did not start in time');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port, caFile: join(dir, 'ca.crt'), otherCaFile: join(dir, 'other-ca.crt'), user: 'gw', password, dir,
    async stop() {
      if (child.exitCode === null) await new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM'); });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(true));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
