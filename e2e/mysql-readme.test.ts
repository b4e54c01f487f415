import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { DEMO_POLICY } from '@gw/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureMariadbDemoData } from '../tools/demo-data.mjs';
import { startStack, type Stack } from './support/stack.js';

const run = promisify(execFile);

/** The README's `mariadb` lines of "MySQL and MariaDB through the gateway", in order. */
const README_LINES = readFileSync('README.md', 'utf8')
  .split('\n')
  .filter((line) => line.startsWith('mariadb -h 127.0.0.1 -P 13306 -u demo_writer@mariadb-demo'));

/** The words of one README line, as the shell would pass them (single-quoted SQL kept whole). */
function argv(line: string, port: number): string[] {
  const words = line.match(/'[^']*'|\S+/g)!.map((w) => w.replace(/^'|'$/g, ''));
  return words.slice(1).map((w) => (w === '13306' ? String(port) : w));
}

describe('README: the mariadb lines against the demo policy and the mariadb-demo resource of examples/agent.yaml', () => {
  let stack: Stack;
  let token: string;

  beforeAll(async () => {
    await ensureMariadbDemoData();
    const config = parse(readFileSync('examples/agent.yaml', 'utf8')) as { resources: Array<Record<string, unknown> & { name: string; type: 'mysql'; address: string }> };
    const demo = config.resources.find((r) => r.name === 'mariadb-demo')!;
    const { name, type, address, labels, ...extra } = demo;
    stack = await startStack({ policy: DEMO_POLICY, resources: [{ name, type, address, labels: labels as Record<string, string>, extra }] });
    token = await stack.cp.token('ai-agent');
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('has the three lines', () => {
    expect(README_LINES).toHaveLength(3);
  });

  it('SELECT: rows with PII masked', async () => {
    const { stdout } = await run('mariadb', argv(README_LINES[0]!, stack.mysqlPort), { env: { ...process.env, MYSQL_PWD: token } });
    expect(stdout).toContain('a**@example.com');
    expect(stdout).toContain('**** **** **** ****');
    expect(stdout).toContain('***-**-****');
    expect(stdout).not.toContain('ada@example.com');
    expect(stdout).not.toContain('536-22-8410');
  });

  it('DELETE: held for an approver (denied here, so the demo data stays)', async () => {
    const child = spawn('mariadb', argv(README_LINES[1]!, stack.mysqlPort), { env: { ...process.env, MYSQL_PWD: token } });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const approver = await stack.cp.token('approver');
    let id = '';
    await expect
      .poll(async () => {
        const list = (await stack.cp.request('GET', '/api/v1/approvals?status=pending', { token: approver })).body.items as { id: string; subject: { text: string } }[];
        id = list.find((a) => a.subject.text.includes('DELETE FROM customers WHERE id = 3'))?.id ?? '';
        return id;
      }, { timeout: 10_000 })
      .not.toBe('');
    expect((await stack.cp.request('POST', `/api/v1/approvals/${id}/deny`, { token: approver, body: {} })).status).toBe(200);
    expect(await exited).toBe(1);
    expect(stderr).toMatch(/ERROR 1142 .*was denied/);
  });

  it('DROP: refused naming the policy', async () => {
    await expect(run('mariadb', argv(README_LINES[2]!, stack.mysqlPort), { env: { ...process.env, MYSQL_PWD: token } })).rejects.toMatchObject({
      stderr: expect.stringMatching(/ERROR 1142 \(42000\).*denied by policy "requester-no-ddl-or-admin"/) as unknown,
    });
  });
});
