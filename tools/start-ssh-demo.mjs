// Part of `npm start`: a demo SSH target, a real OpenSSH sshd on 127.0.0.1:${SSH_DEMO_PORT:-12022}
// that trusts the demo agent's certificate authority (TrustedUserCAKeys). State in .data/ssh-demo.
// The login is the user running `npm start` (an unprivileged sshd can only log in as itself).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';

const DIR = resolve('.data/ssh-demo');
const SSHD = '/usr/sbin/sshd';

/** Returns the child process and the login, or undefined (with the reason printed) when sshd is missing. */
export function startSshDemo(env) {
  if (!existsSync(SSHD)) {
    console.log('ssh demo target skipped: /usr/sbin/sshd is not installed (apt-get install openssh-server)');
    return undefined;
  }
  const port = env.SSH_DEMO_PORT ?? '12022';
  mkdirSync(DIR, { recursive: true, mode: 0o700 });
  const hostKey = `${DIR}/host_ed25519_key`;
  if (!existsSync(hostKey)) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'gateway ssh demo', '-f', hostKey]);
  // The agent's own command makes its CA key (if missing) and prints the line sshd must trust.
  const caLine = execFileSync(process.execPath, ['apps/agent/dist/main.js', 'ssh-ca-public-key', '--config', 'examples/agent.yaml'], {
    env: { ...env, GW_AGENT_CREDENTIAL: env.GW_AGENT_CREDENTIAL ?? 'unused-for-this-command' },
  }).toString();
  writeFileSync(`${DIR}/trusted_user_ca_keys`, caLine);
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  writeFileSync(`${DIR}/sshd_config`, [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `PidFile ${DIR}/sshd.pid`,
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'AuthorizedKeysFile none',
    `TrustedUserCAKeys ${DIR}/trusted_user_ca_keys`,
    'PermitRootLogin prohibit-password',
    'StrictModes no',
    'X11Forwarding no',
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n'));
  const child = spawn(SSHD, ['-D', '-e', '-f', `${DIR}/sshd_config`], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', (d) => {
    if (env.GW_VERBOSE || /error|fatal/i.test(String(d))) process.stdout.write(`[ssh-demo] ${d}`);
  });
  return { child, port, login: userInfo().username };
}
