import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs the real OpenSSH clients (ssh, scp, sftp) against the gateway's SSH endpoint. The token goes in
 * through SSH_ASKPASS (forced), which is how a workload without a terminal answers the password prompt.
 */
export interface SshClientResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface GatewaySsh {
  env: NodeJS.ProcessEnv;
  /** Common options: port, no host key checks (test only), token auth only. */
  options: string[];
  ssh(user: string, args: string[], opts?: { input?: string; token?: string; timeoutMs?: number }): Promise<SshClientResult>;
  run(cmd: string, args: string[], opts?: { input?: string; token?: string; timeoutMs?: number }): Promise<SshClientResult>;
  /** Starts a long-running `ssh user command` and lets the test watch it while it runs. */
  start(user: string, command: string): RunningSsh;
}

export interface RunningSsh {
  stdout(): string;
  stderr(): string;
  /** The exit code once ssh ends. */
  exited: Promise<number | null>;
}

export function gatewaySsh(port: number, token: string): GatewaySsh {
  const dir = mkdtempSync(join(tmpdir(), 'gw-ssh-client-'));
  const askpass = join(dir, 'askpass.sh');
  writeFileSync(askpass, '#!/bin/sh\nprintf "%s\\n" "$GW_TEST_TOKEN"\n');
  chmodSync(askpass, 0o700);
  const env: NodeJS.ProcessEnv = { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', GW_TEST_TOKEN: token, DISPLAY: '' };
  delete env.SSH_AUTH_SOCK;
  const options = [
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
    '-o', 'PreferredAuthentications=password,keyboard-interactive', '-o', 'PubkeyAuthentication=no',
    '-o', 'NumberOfPasswordPrompts=1', '-o', 'BatchMode=no',
  ];
  const run: GatewaySsh['run'] = (cmd, args, opts = {}) =>
    new Promise((resolve) => {
      const child = spawn(cmd, args, { env: { ...env, ...(opts.token !== undefined ? { GW_TEST_TOKEN: opts.token } : {}) }, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      child.stdin.end(opts.input ?? '');
    });
  return {
    env,
    options,
    run,
    ssh: (user, args, opts) => run('ssh', [...options, '-p', String(port), '-l', user, '127.0.0.1', ...args], opts),
    start(user, command) {
      const child = spawn('ssh', [...options, '-p', String(port), '-l', user, '127.0.0.1', command], { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      return { stdout: () => stdout, stderr: () => stderr, exited: new Promise((resolve) => child.on('close', resolve)) };
    },
  };
}

export function execText(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(cmd, args, (err, stdout) => (err ? reject(new Error(err.message)) : resolve(stdout))));
}

/** An interactive `ssh -tt` in a detached tmux pane: a real terminal, driven by keystrokes. */
export interface TmuxSsh {
  send(...keys: string[]): Promise<void>;
  screen(): Promise<string>;
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<string>;
  resize(cols: number, rows: number): Promise<void>;
  /** Waits for ssh to exit and returns its exit status (printed by the pane's shell wrapper). */
  exited(timeoutMs?: number): Promise<number>;
  kill(): Promise<void>;
}

export async function tmuxSsh(client: GatewaySsh, port: number, user: string, size = { cols: 100, rows: 30 }): Promise<TmuxSsh> {
  const socket = `gw-e2e-${process.pid}-${Date.now()}`;
  const tmux = (...args: string[]) => execText('tmux', ['-L', socket, ...args]);
  const statusFile = join(mkdtempSync(join(tmpdir(), 'gw-tmux-')), 'status');
  const sshArgs = [...client.options, '-tt', '-p', String(port), '-l', user, '127.0.0.1'].map((a) => `'${a}'`).join(' ');
  const envArgs = ['SSH_ASKPASS', 'SSH_ASKPASS_REQUIRE', 'GW_TEST_TOKEN'].flatMap((k) => ['-e', `${k}=${client.env[k] ?? ''}`]);
  await tmux('new-session', '-d', '-s', 'gw', '-x', String(size.cols), '-y', String(size.rows), ...envArgs, `ssh ${sshArgs}; echo $? > ${statusFile}; sleep 30`);
  const screen = () => tmux('capture-pane', '-p', '-t', 'gw');
  return {
    send: async (...keys) => {
      await tmux('send-keys', '-t', 'gw', ...keys);
    },
    screen,
    async waitFor(text, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await screen();
        if (typeof text === 'string' ? s.includes(text) : text.test(s)) return s;
        if (Date.now() > deadline) throw new Error(`terminal did not show ${String(text)}; screen:\n${s}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async resize(cols, rows) {
      await tmux('resize-window', '-t', 'gw', '-x', String(cols), '-y', String(rows));
    },
    async exited(timeoutMs = 10_000) {
      const { readFileSync, existsSync } = await import('node:fs');
      const deadline = Date.now() + timeoutMs;
      while (!existsSync(statusFile) || readFileSync(statusFile, 'utf8').trim() === '') {
        if (Date.now() > deadline) throw new Error('ssh did not exit');
        await new Promise((r) => setTimeout(r, 100));
      }
      return Number(readFileSync(statusFile, 'utf8').trim());
    },
    kill: async () => {
      await tmux('kill-server').catch(() => undefined);
    },
  };
}
