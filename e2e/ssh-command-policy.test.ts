import { existsSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gatewaySsh, type GatewaySsh } from './support/ssh-client.js';
import { loginOwnedFile, startDemoSsh, type DemoSsh } from './support/demo-ssh.js';
import { TEST_LOGIN } from './support/sshd.js';
import type { Stack } from './support/stack.js';
import { latestSession, sessionEvents } from './support/session-events.js';

/**
 * The demo policy against real `ssh` through the gateway to a real sshd: every spelling of a
 * destructive command, of sudo and of a shell is decided on what the command runs, not on its text.
 */
const HOST = `${TEST_LOGIN}@demo-box`;
const VICTIM = `/tmp/gw-e2e-victim-${process.pid}`;
const FILE = `${VICTIM}/keep.txt`;
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('ssh command policy: the demo policy cannot be spelled around', () => {
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
  beforeEach(() => loginOwnedFile(VICTIM, FILE, 'keep\n'));

  const untouched = () => existsSync(VICTIM) && readFileSync(FILE, 'utf8') === 'keep\n';

  it('runs the README examples that are allowed', async () => {
    for (const command of ['uptime', 'ls /tmp', 'cat /etc/hostname | wc -l', 'id -un 2>/dev/null']) {
      const result = await workload.ssh(HOST, [command]);
      expect(result.code, `${command}: ${result.stderr}`).toBe(0);
    }
  });

  it.each([
    `rm -rf ${VICTIM}`, `rm -r -f ${VICTIM}`, `rm -fr ${VICTIM}`, `rm --recursive --force ${VICTIM}`, `rm --rec --fo ${VICTIM}`, `r\\m -rf ${VICTIM}`,
    `'r''m' -rf ${VICTIM}`, `"r"m -rf ${VICTIM}`, `r$'\\x6d' -rf ${VICTIM}`, `r\\\nm -rf ${VICTIM}`, `\\rm -rf ${VICTIM}`, `/bin/rm -rf ${VICTIM}`,
    `RM=rm; $RM -rf ${VICTIM}`, `bash -c "$(echo ${b64(`rm -rf ${VICTIM}`)} | base64 -d)"`, `find ${VICTIM} -delete`, `find ${VICTIM} -exec rm -rf {} +`,
    `perl -e 'use File::Path; rmtree("${VICTIM}")'`, `python3 -c 'import shutil; shutil.rmtree("${VICTIM}")'`, `node -e 'require("fs").rmSync("${VICTIM}",{recursive:true})'`,
    `awk 'BEGIN{system("rm -rf ${VICTIM}")}'`, `command rm -rf ${VICTIM}`, `exec rm -rf ${VICTIM}`, `nice -n 5 rm -rf ${VICTIM}`, `nohup rm -rf ${VICTIM}`,
    `timeout 5 rm -rf ${VICTIM}`, `env -i rm -rf ${VICTIM}`, `stdbuf -o0 rm -rf ${VICTIM}`, `ionice -c 3 rm -rf ${VICTIM}`, `echo ${VICTIM} | xargs rm -rf`,
    `f(){ rm -rf ${VICTIM}; }; f`, `ls; rm -rf ${VICTIM}`, `echo $(rm -rf ${VICTIM})`, `echo \`rm -rf ${VICTIM}\``, `cat <(rm -rf ${VICTIM})`,
    `sh -c 'rm -rf ${VICTIM}'`, `dash -c 'rm -rf ${VICTIM}'`, `bash -c 'rm -rf ${VICTIM}'`, `sh <<< 'rm -rf ${VICTIM}'`, `cat <<EOF | sh\nrm -rf ${VICTIM}\nEOF`,
    `python3 - <<EOF\nimport shutil; shutil.rmtree("${VICTIM}")\nEOF`, `eval 'rm -rf ${VICTIM}'`,
    // overwriting the file instead
    `echo gone > ${FILE}`, `echo gone >| ${FILE}`, `ls &> ${FILE}`, `echo gone | tee ${FILE}`, `truncate -s 0 ${FILE}`, `cp /dev/null ${FILE}`,
    `mv ${FILE} /dev/null`, `dd if=/dev/null of=${FILE}`, `sed -i d ${FILE}`, `shred -u ${FILE}`, `uniq /dev/null ${FILE}`, `sort -o ${FILE} /dev/null`,
    // allowed programs made to run another: sort's compressor gets the sorted lines, here shell code
    `printf 'rm -rf ${VICTIM}\\n%.0s' $(seq 1 20000) | sort -S 64k -T /tmp --compress-program=sh`, `flock /tmp/gw-e2e-lock -c 'rm -rf ${VICTIM}'`,
  ])('refuses %j and the directory survives', async (command) => {
    const result = await workload.ssh(HOST, [command]);
    expect(result.code, result.stderr).toBe(126);
    expect(result.stderr).toMatch(/gateway: command denied/);
    expect(untouched()).toBe(true);
  });

  it.each([
    [['bash'], `rm -rf ${VICTIM}\n`], [['sh'], `rm -rf ${VICTIM}\n`], [['bash', '-s'], `rm -rf ${VICTIM}\n`], [['python3', '-'], `import shutil; shutil.rmtree("${VICTIM}")\n`],
    [['-tt', 'bash', '-i'], `rm -rf ${VICTIM}\nexit\n`], [['-tt', 'python3'], 'print(1)\n'], [['-tt', 'sudo', '-s'], 'id\n'],
  ])('refuses ssh %j as an interactive shell, which workloads do not get', async (args, input) => {
    const result = await workload.ssh(HOST, args, { input });
    expect(result.code, result.stderr).toBe(126);
    expect(result.stdout + result.stderr).toMatch(/denied.*ssh:shell/);
    expect(untouched()).toBe(true);
  });

  it.each([' sudo id', '/usr/bin/sudo id', 'env sudo id', 'id; sudo id', 'sudo -u root id', 'nice sudo id', 'bash -c "sudo id"'])(
    'holds %j for approval (denied here: it never runs)',
    async (command) => {
      const approver = await stack.cp.token('approver');
      const running = workload.ssh(HOST, [command]);
      let approvalId: string | undefined;
      await expect
        .poll(async () => {
          const res = await stack.cp.request('GET', '/api/v1/approvals?status=pending', { token: approver });
          approvalId = (res.body.items as { id: string; subject: { command?: string } }[]).find((a) => a.subject.command === command)?.id;
          return approvalId !== undefined;
        }, { timeout: 15_000 })
        .toBe(true);
      expect((await stack.cp.request('POST', `/api/v1/approvals/${approvalId}/deny`, { token: approver, body: { comment: 'no' } })).status).toBe(200);
      const result = await running;
      expect(result.code).toBe(126);
      expect(result.stderr).toContain(`held for approval ${approvalId}`);
    },
  );

  it('records the script piped into a refused `ssh host bash`', async () => {
    const script = `rm -rf ${VICTIM} # piped-${Date.now()}`;
    const result = await workload.ssh(HOST, ['bash'], { input: `${script}\n` });
    expect(result.code).toBe(126);
    const sid = await latestSession(stack, 'demo-box');
    const events = await sessionEvents(stack, sid, (e) => e.some((x) => x.type === 'ssh.io' && JSON.stringify(x.data).includes(script)));
    expect(events.find((e) => e.type === 'ssh.exec')?.data).toMatchObject({ command: 'bash', decision: 'deny', decidedAs: 'ssh:shell' });
    expect(untouched()).toBe(true);
  });

  it('masks PII in a workload\'s command output and recording under the demo policy', async () => {
    const pii = 'card 4111 1111 1111 1111 mail ada.lovelace@example.com\n';
    const allowed = await workload.ssh(HOST, ['cat'], { input: pii });
    expect(allowed.stdout).toBe('card **** **** **** **** mail a***********@example.com\n');
    const catSession = await latestSession(stack, 'demo-box');
    const catEvents = await sessionEvents(stack, catSession, (e) => e.some((x) => x.type === 'session.end'));
    const refused = await workload.ssh(HOST, ['bash'], { input: `echo ${pii}` });
    expect(refused.code).toBe(126);
    const bashSession = await latestSession(stack, 'demo-box');
    const bashEvents = await sessionEvents(stack, bashSession, (e) => e.some((x) => x.type === 'ssh.io'));
    const frames = (events: typeof catEvents) => events.filter((e) => e.type === 'ssh.io').flatMap((e) => e.data.frames as [number, string, string][]);
    expect(frames(catEvents).map(([, kind, text]) => [kind, text])).toEqual([['i', 'card **** **** **** **** mail a***********@example.com\n'], ['o', 'card **** **** **** **** mail a***********@example.com\n']]);
    expect(frames(bashEvents).map(([, , text]) => text).join('')).toBe('echo card **** **** **** **** mail a***********@example.com\n');
    for (const events of [catEvents, bashEvents]) expect(JSON.stringify(events)).not.toMatch(/4111 1111|lovelace/);
  });

  it('records an exec\'s stdin: a script piped into a shell is in the recording', async () => {
    const admin = gatewaySsh(stack.sshPort, stack.admin);
    const result = await admin.ssh(HOST, ['bash'], { input: 'echo piped-script-$((20+22))\n' });
    expect(result.stdout).toBe('piped-script-42\n');
    const sid = await latestSession(stack, 'demo-box');
    const events = await sessionEvents(stack, sid, (e) => e.some((x) => x.type === 'ssh.io' && JSON.stringify(x.data).includes('piped-script-$((20+22))')));
    const exec = events.find((e) => e.type === 'ssh.exec');
    expect(exec?.data).toMatchObject({ command: 'bash', decidedAs: 'ssh:shell', analysis: { programs: ['bash'], shell: true } });
    const input = events.filter((e) => e.type === 'ssh.io').flatMap((e) => e.data.frames as [number, string, string][]).filter(([, kind]) => kind === 'i');
    expect(input.map(([, , text]) => text).join('')).toContain('echo piped-script-$((20+22))');
  });
});
