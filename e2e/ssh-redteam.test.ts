import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GatewaySsh } from './support/ssh-client.js';
import { loginOwnedFile, startDemoSsh, type DemoSsh } from './support/demo-ssh.js';
import { TEST_LOGIN } from './support/sshd.js';
import type { Stack } from './support/stack.js';

/**
 * Red-team of the SSH path under the demo policy, as a workload, with real ssh and sshd: spellings
 * bash runs but the command analysis did not see, a terminal's unmasked output, and the relay's
 * handling of output that is not tidy text.
 */
const HOST = `${TEST_LOGIN}@demo-box`;
const VICTIM = `/tmp/gw-e2e-redteam-${process.pid}`;
const FILE = `${VICTIM}/keep.txt`;
const PII = 'card 4111 1111 1111 1111 mail ada.lovelace@example.com';
const MASKED = 'card **** **** **** **** mail a***********@example.com';

describe('ssh red team: the demo policy and live output masking, as a workload', () => {
  let demo: DemoSsh;
  let stack: Stack;
  let workload: GatewaySsh;

  beforeAll(async () => {
    demo = await startDemoSsh();
    ({ stack, workload } = demo);
  }, 60_000);

  afterAll(async () => {
    rmSync(VICTIM, { recursive: true, force: true });
    await demo?.close();
  });

  // A directory the login owns (so only policy stands between the workload and its deletion).
  beforeEach(() => loginOwnedFile(VICTIM, FILE, `${PII}\n`));

  /** ssh's stdout as bytes (the helper reads it as UTF-8 text); `stall` leaves it unread for a while (ssh's pipe fills, so it stops reading the channel). */
  const sshBytes = (command: string, stall = false) =>
    new Promise<{ code: number | null; stdout: Buffer }>((resolve) => {
      const child = spawn('ssh', [...workload.options, '-p', String(stack.sshPort), '-l', HOST, '127.0.0.1', command], { env: workload.env, stdio: ['ignore', 'pipe', 'ignore'] });
      const out: Buffer[] = [];
      const read = () => child.stdout.on('data', (c: Buffer) => out.push(c));
      if (stall) setTimeout(read, 2000);
      else read();
      child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out) }));
    });

  const untouched = () => existsSync(VICTIM) && readFileSync(FILE, 'utf8') === `${PII}\n` && !existsSync(`${FILE}.mgc`);

  it.each([
    // substitutions inside ${...} that bash runs and the grammar did not parse
    `ls \${x:=\`rm -rf ${VICTIM}\`}`, `ls \${x-\`rm -rf ${VICTIM}\`}`, `ls "\${x:+\`rm -rf ${VICTIM}\`}"`,
    `x=a; ls \${x%%\`rm -rf ${VICTIM}\`}`, `x=a; ls \${x#$(rm -rf ${VICTIM})}`, `ls \${x-<(rm -rf ${VICTIM})}`,
    // backticks in an unquoted here-document, which bash runs
    `cat <<E\nnote \`rm -rf ${VICTIM}\`\nE`,
    // a substitution nested in backticks
    `echo \`echo \\\`rm -rf ${VICTIM}\\\`\``,
    // an allowed program that writes a file it does not name: file -C compiles NAME.mgc into the current directory
    `cd ${VICTIM} && file -C -m keep.txt`,
    // a value expanded as a prompt; an indirection through an array subscript
    `x='$(rm -rf ${VICTIM})'; ls \${x@P}`, `for x in 'a[$(rm -rf ${VICTIM})]'; do ls \${!x}; done`,
  ])('refuses %j and the directory survives', async (command) => {
    const result = await workload.ssh(HOST, [command]);
    expect(result.code, result.stderr).toBe(126);
    expect(result.stderr).toMatch(/gateway: command denied by policy "requester-ssh-no-(opaque|destructive|file-writes)"/);
    expect(untouched()).toBe(true);
  });

  it('refuses a command on a terminal (ssh -tt), whose output would come back unmasked; without one it runs masked', async () => {
    const onTerminal = await workload.ssh(HOST, ['-tt', `cat ${FILE}`]);
    expect(onTerminal.code).toBe(126);
    expect(onTerminal.stdout + onTerminal.stderr).toMatch(/denied by policy "requester-ssh-no-terminal"/);
    expect(onTerminal.stdout + onTerminal.stderr).not.toMatch(/4111|lovelace/);
    const plain = await workload.ssh(HOST, [`cat ${FILE}`]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toBe(`${MASKED}\n`);
  });

  it('masks a value with terminal colours in it, output without a final line break, and a long line', async () => {
    const colour = await workload.ssh(HOST, [`printf 'mail \\033[1mada.lovelace@example.com\\033[0m\\n'; printf '%s' 'end 4111 1111 1111 1111'`]);
    expect(colour.code, colour.stderr).toBe(0);
    expect(colour.stdout).toBe('mail \x1b[1ma***********@example.com\x1b[0m\nend **** **** **** ****');
    const long = await workload.ssh(HOST, [`head -c 3000 /dev/zero | tr '\\0' x; cat ${FILE}`]);
    expect(long.stdout).toBe(`${'x'.repeat(3000)}${MASKED}\n`);
  });

  it('masks values in a UTF-16 file, and in hex or base64 text, that a permitted `cat` prints', async () => {
    const encodings: [string, Buffer, (masked: string) => Buffer][] = [
      ['utf16le', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${PII}\n`, 'utf16le')]), (m) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${m}\n`, 'utf16le')])],
      ['utf16be', Buffer.from(`${PII}\n`, 'utf16le').swap16(), (m) => Buffer.from(`${m}\n`, 'utf16le').swap16()],
      ['hex', Buffer.from(`${Buffer.from(PII).toString('hex')}\n`), (m) => Buffer.from(`${Buffer.from(m).toString('hex')}\n`)],
      ['base64', Buffer.from(`${Buffer.from(PII).toString('base64')}\n`), (m) => Buffer.from(`${Buffer.from(m).toString('base64')}\n`)],
    ];
    for (const [name, bytes, expected] of encodings) {
      writeFileSync(`${VICTIM}/${name}.txt`, bytes);
      const result = await sshBytes(`cat ${VICTIM}/${name}.txt`);
      expect(result.code, name).toBe(0);
      expect(result.stdout.equals(expected(MASKED)), `${name}: ${JSON.stringify(result.stdout.toString('latin1'))}`).toBe(true);
    }
  });

  it('relays large output and input whole, with exit status and stdin EOF', async () => {
    const big = await workload.ssh(HOST, ['seq 1 200000']);
    expect(big.code, big.stderr).toBe(0);
    expect(big.stdout).toBe(`${Array.from({ length: 200000 }, (_, i) => i + 1).join('\n')}\n`);
    const input = `${'0123456789abcdef'.repeat(65536)}\n${PII}\n`;
    const echoed = await workload.ssh(HOST, ['cat'], { input });
    expect(echoed.code, echoed.stderr).toBe(0);
    expect(echoed.stdout).toBe(`${'0123456789abcdef'.repeat(65536)}\n${MASKED}\n`);
    // A client that stops reading for a while: the target is held back (backpressure), nothing is lost.
    const stalled = await sshBytes(`seq 1 300000; cat ${FILE}`, true);
    expect(stalled.code).toBe(0);
    expect(stalled.stdout.toString()).toBe(`${Array.from({ length: 300000 }, (_, i) => i + 1).join('\n')}\n${MASKED}\n`);
    const failed = await workload.ssh(HOST, [`grep -q nothing-like-this ${FILE}`]);
    expect(failed.code).toBe(1);
  });
});
