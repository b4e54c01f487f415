// scp of 100 MiB through the gateway (control plane SSH endpoint -> tunnel -> agent -> sshd, with
// policy, per-session certificate and SFTP recording) against the same sshd directly, in the same run.
//   npm run build && node bench/ssh/run.mjs      (BENCH_MIB=100, BENCH_ROUNDS=3; best round is reported)
// Needs root (it starts its own sshd on a high port and creates the login `gwbench`).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBenchStack } from '../support/stack.mjs';

const MIB = Number(process.env.BENCH_MIB ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LOGIN = 'gwbench';
const POLICY = `
@id("bench-ssh") permit (principal, action in [Gateway::Action::"connect", Gateway::Action::"ssh:exec", Gateway::Action::"ssh:sftp"], resource)
when { resource.type == "ssh" };`;

const dir = mkdtempSync(join(tmpdir(), 'gw-bench-ssh-'));
chmodSync(dir, 0o755); // sshd reads authorized_keys as the login
const freePort = () => new Promise((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); }); });

function ensureLogin() {
  try { execFileSync('id', [LOGIN], { stdio: 'ignore' }); } catch { execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', LOGIN]); }
  execFileSync('usermod', ['-p', '*', LOGIN]); // "!" (locked) would refuse every login, certificates included
}

/** The agent's CA, made by the agent's own command, so the bench uses what a deployment uses. */
function agentCaLine(caKeyFile) {
  const config = join(dir, 'ca-only.json');
  writeFileSync(config, JSON.stringify({
    controlPlane: { url: 'http://127.0.0.1:1' }, auth: { credential: 'literal:unused' },
    resources: [{ name: 'ca', type: 'ssh', address: '127.0.0.1:22', ssh: { hostKeys: ['ssh-ed25519 AAAA'], caKeyFile } }],
  }));
  return execFileSync(process.execPath, ['apps/agent/dist/main.js', 'ssh-ca-public-key', '--config', config]).toString().trim();
}

async function startSshd(caLine, userKeyLine) {
  mkdirSync('/run/sshd', { recursive: true });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  writeFileSync(join(dir, 'trusted_ca'), `${caLine}\n`);
  writeFileSync(join(dir, 'authorized_keys'), `${userKeyLine}\n`);
  const port = await freePort();
  writeFileSync(join(dir, 'sshd_config'), [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`, `PidFile ${join(dir, 'sshd.pid')}`, 'UsePAM no',
    'PasswordAuthentication no', 'KbdInteractiveAuthentication no', `TrustedUserCAKeys ${join(dir, 'trusted_ca')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'StrictModes no', 'Subsystem sftp internal-sftp', '',
  ].join('\n'));
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise((resolve, reject) => {
    let out = '';
    child.stderr.on('data', (d) => { out += d; if (out.includes('Server listening')) resolve(); });
    child.on('exit', () => reject(new Error(`sshd exited: ${out}`)));
  });
  if (process.env.BENCH_VERBOSE) child.stderr.on('data', (d) => process.stderr.write(`[sshd] ${d}`));
  return { port, hostKey: readFileSync(join(dir, 'host_key.pub'), 'utf8').trim(), stop: () => child.kill() };
}

function timedScp(args, env) {
  const started = process.hrtime.bigint();
  execFileSync('scp', [...(process.env.BENCH_VERBOSE ? ['-v'] : ['-q']), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  return Number(process.hrtime.bigint() - started) / 1e9;
}

ensureLogin();
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'user_key')]);
const caKeyFile = join(dir, 'ssh-ca.key');
const sshd = await startSshd(agentCaLine(caKeyFile), readFileSync(join(dir, 'user_key.pub'), 'utf8').trim());
const stack = await startBenchStack({
  // Free ports, so this bench can run while other stacks (bench/pg, npm start) hold the defaults.
  httpPort: await freePort(), pgPort: await freePort(), sshPort: await freePort(), idpPort: await freePort(),
  policy: POLICY,
  resources: [{ name: 'bench-ssh', type: 'ssh', address: `127.0.0.1:${sshd.port}`, labels: {}, ssh: { hostKeys: [sshd.hostKey], caKeyFile } }],
});
const file = join(dir, 'payload.bin');
writeFileSync(file, execFileSync('head', ['-c', String(MIB * 1024 * 1024), '/dev/urandom'], { maxBuffer: MIB * 1024 * 1024 + 1 }));
const askpass = join(dir, 'askpass.sh');
writeFileSync(askpass, '#!/bin/sh\nprintf "%s\\n" "$GW_BENCH_TOKEN"\n');
chmodSync(askpass, 0o700);
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void stack.stop().then(() => { sshd.stop(); process.exit(1); }));
try {
  const token = await stack.token('ai-agent');
  const remote = `/home/${LOGIN}/bench-payload.bin`;
  const direct = ['-i', join(dir, 'user_key'), '-o', 'IdentitiesOnly=yes', '-P', String(sshd.port), file, `${LOGIN}@127.0.0.1:${remote}`];
  const gateway = ['-o', 'PreferredAuthentications=password', '-o', 'PubkeyAuthentication=no', '-P', String(stack.sshPort), '-o', `User=${LOGIN}@bench-ssh`, file, `127.0.0.1:${remote}`];
  const gwEnv = { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', GW_BENCH_TOKEN: token };
  const best = { direct: Infinity, gateway: Infinity };
  for (let i = 0; i < ROUNDS; i++) {
    best.direct = Math.min(best.direct, timedScp(direct, {}));
    best.gateway = Math.min(best.gateway, timedScp(gateway, gwEnv));
  }
  const mbps = (s) => (MIB * 1.048576) / s;
  console.log(`\nscp upload of ${MIB} MiB, best of ${ROUNDS} (${spawnSync('ssh', ['-V']).stderr.toString().trim()})`);
  console.log('path                 seconds     MB/s');
  console.log(`direct to sshd      ${best.direct.toFixed(2).padStart(8)} ${mbps(best.direct).toFixed(1).padStart(8)}`);
  console.log(`through the gateway ${best.gateway.toFixed(2).padStart(8)} ${mbps(best.gateway).toFixed(1).padStart(8)}`);
  console.log(`ratio (gateway / direct throughput): ${(best.direct / best.gateway).toFixed(2)}`);
} finally {
  await stack.stop();
  sshd.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
