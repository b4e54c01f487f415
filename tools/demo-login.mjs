// Part of `npm start` (run as root): the SSH demo target's login is a dedicated unprivileged system
// user, kept away from what the gateway itself runs on. The demo target shares this host; this
// module makes what the login can reach as small as this machine allows:
//   - files: `.data/` (dev IdP signing keys, agent credential and CA, TLS keys) is 0700/0600 root;
//   - TCP: an owner-match firewall rule (iptables/ip6tables, when installed) rejects the login's
//     connections to the local Postgres, the control plane's Redis and MariaDB;
//   - Unix sockets: the demo sshd runs in its own mount namespace where the Postgres and MariaDB
//     socket directories are empty (the machine's Postgres trusts every local user on its socket).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const DEMO_LOGIN = 'gw-demo';
export const DEMO_LOGIN_HOME = '/var/lib/gw-demo';
/** Socket directories hidden from the demo sshd and its sessions. */
export const HIDDEN_SOCKET_DIRS = ['/var/run/postgresql', '/run/mysqld', '/var/run/redis'];

const run = (cmd, args) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const has = (cmd) => {
  try {
    run('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
};

/** Creates the system user (no password: it logs in only with the agent's certificates). */
export function ensureDemoLogin() {
  try {
    run('id', ['-u', DEMO_LOGIN]);
  } catch {
    run('useradd', ['--system', '--create-home', '--home-dir', DEMO_LOGIN_HOME, '--shell', '/bin/bash', '--user-group', '--comment', 'gateway SSH demo login', DEMO_LOGIN]);
  }
  // A new account's password is "!" (locked) and sshd refuses locked accounts even with a
  // certificate; "*" means no password can ever match, without locking.
  run('usermod', ['-p', '*', DEMO_LOGIN]);
  lockDemoHome();
  return Number(run('id', ['-u', DEMO_LOGIN]).trim());
}

/**
 * The login's home and everything in it belong to root, read-only to the login. Workloads may copy
 * files as this login (scp, sftp): into its home they would plant a startup file (`.bashrc`, which
 * bash reads for every command sshd runs, `.profile`, `.ssh/rc`) whose code runs at the next login,
 * where command policy never sees it. Copies go to /tmp.
 */
export function lockDemoHome() {
  run('chown', ['-R', 'root:root', DEMO_LOGIN_HOME]);
  run('chmod', ['-R', 'go-w', DEMO_LOGIN_HOME]);
}

/** Directories 0700 and files 0600 under `dir`: only the user running `npm start` reads them. */
export function lockDownDataDir(dir) {
  if (!existsSync(dir)) return;
  const walk = (path) => {
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      return; // removed meanwhile (a test's scratch directory)
    }
    if (stat.isSymbolicLink()) return;
    if (stat.isDirectory()) {
      chmodSync(path, 0o700);
      let entries = [];
      try {
        entries = readdirSync(path);
      } catch {
        /* removed meanwhile */
      }
      for (const entry of entries) walk(join(path, entry));
    } else if (stat.isFile() && (stat.mode & 0o077) !== 0) {
      chmodSync(path, 0o600);
    }
  };
  walk(dir);
}

/**
 * Adds (once) the rules that reject the demo login's TCP connections to `ports` on any address.
 * Returns what was done, for the start-up message; never throws (the demo still runs, and says so).
 */
export function blockPortsForLogin(ports) {
  const tools = ['iptables', 'ip6tables'].filter(has);
  if (tools.length === 0) return { blocked: false, why: 'iptables is not installed (apt-get install iptables)' };
  const rule = ['OUTPUT', '-p', 'tcp', '-m', 'owner', '--uid-owner', DEMO_LOGIN, '-m', 'multiport', '--dports', ports.join(','), '-j', 'REJECT', '--reject-with', 'tcp-reset'];
  try {
    for (const tool of tools) {
      try {
        run(tool, ['-C', ...rule]);
      } catch {
        run(tool, ['-I', ...rule]);
      }
    }
    return { blocked: true, tools };
  } catch (err) {
    return { blocked: false, why: `${tools.join('/')} refused the rule: ${String(err.stderr ?? err.message).trim()}` };
  }
}

/**
 * The command line that starts `argv` in a private mount namespace with the socket directories
 * covered by empty tmpfs mounts; undefined when `unshare` is missing.
 */
export function inPrivateMounts(argv) {
  if (!has('unshare')) return undefined;
  const hide = HIDDEN_SOCKET_DIRS.map((d) => `if [ -d ${d} ]; then mount -t tmpfs -o size=64k,mode=0755 gw-demo-hidden ${d} || exit 1; fi`).join('; ');
  return ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', `${hide}; exec "$@"`, 'sh', ...argv];
}
