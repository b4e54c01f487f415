// Part of `npm start`: a demo SSH target, a real OpenSSH sshd on 127.0.0.1:${SSH_DEMO_PORT:-12022}
// that trusts the demo agent's certificate authority (TrustedUserCAKeys). State in .data/ssh-demo.
// As root the only login is the unprivileged `gw-demo` (tools/demo-login.mjs says what it can
// reach); otherwise an unprivileged sshd can only log in as the user running it.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { DEMO_LOGIN, blockPortsForLogin, ensureDemoLogin, inPrivateMounts, lockDownDataDir } from './demo-login.mjs';

const DIR = resolve('.data/ssh-demo');
const SSHD = '/usr/sbin/sshd';

const portOf = (url, fallback) => {
  try {
    return new URL(url).port || fallback;
  } catch {
    return fallback;
  }
};

/**
 * Prepares the target; returns { spawn, port, login, notes } (spawn starts one sshd, for the
 * supervisor), or undefined (with the reason printed) when sshd is missing.
 */
export function prepareSshDemo(env) {
  if (!existsSync(SSHD)) {
    console.log('ssh demo target skipped: /usr/sbin/sshd is not installed (apt-get install openssh-server)');
    return undefined;
  }
  const port = env.SSH_DEMO_PORT ?? '12022';
  const asRoot = process.getuid?.() === 0;
  const notes = [];
  mkdirSync(DIR, { recursive: true, mode: 0o700 });
  const hostKey = `${DIR}/host_ed25519_key`;
  if (!existsSync(hostKey)) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'gateway ssh demo', '-f', hostKey]);
  // The agent's own command makes its CA key (if missing) and prints the line sshd must trust.
  const caLine = execFileSync(process.execPath, ['apps/agent/dist/main.js', 'ssh-ca-public-key', '--config', 'examples/agent.yaml'], {
    env: { ...env, GW_AGENT_CREDENTIAL: env.GW_AGENT_CREDENTIAL ?? 'unused-for-this-command' },
  }).toString();
  writeFileSync(`${DIR}/trusted_user_ca_keys`, caLine);

  let login = userInfo().username;
  let argv = [SSHD, '-D', '-e', '-f', `${DIR}/sshd_config`];
  if (asRoot) {
    login = DEMO_LOGIN;
    ensureDemoLogin();
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    lockDownDataDir(resolve('.data'));
    const stores = [portOf(env.DATABASE_URL, '5432'), portOf(env.REDIS_URL, '6379'), '5432', '6379', '3306'];
    const firewall = blockPortsForLogin([...new Set(stores)]);
    notes.push(firewall.blocked
      ? `the ${DEMO_LOGIN} login cannot open TCP connections to ports ${[...new Set(stores)].join(', ')} (${firewall.tools.join(' and ')} owner rule)`
      : `WARNING: ${firewall.why}: the ${DEMO_LOGIN} login can reach the local Postgres (trust auth) and the control plane's Redis over TCP`);
    const isolated = inPrivateMounts(argv);
    if (isolated) argv = isolated;
    notes.push(isolated
      ? `the demo sshd runs in its own mount namespace without the Postgres/MariaDB Unix sockets`
      : `WARNING: unshare is missing: the ${DEMO_LOGIN} login can use the local Postgres Unix socket (trust auth)`);
  } else {
    notes.push(`WARNING: npm start is not running as root, so the demo target logs in as ${login} (the user running npm start), who can read .data/ and reach the local Postgres and Redis; run as root for the isolated ${DEMO_LOGIN} login`);
  }
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
    `AllowUsers ${login}`,
    asRoot ? 'PermitRootLogin no' : 'PermitRootLogin prohibit-password',
    'StrictModes no',
    // ~/.ssh/rc would run at every login: code no command policy decided (the home is root's too).
    'PermitUserRC no',
    'X11Forwarding no',
    'AllowAgentForwarding no',
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n'));
  return {
    port,
    login,
    notes,
    spawn() {
      const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.on('data', (d) => {
        if (env.GW_VERBOSE || /error|fatal/i.test(String(d))) process.stdout.write(`[ssh-demo] ${d}`);
      });
      return child;
    },
  };
}
