// System calls per statement: what each process of a path asks of the kernel for one pgbench
// select-only statement (strace -c on the running processes), for pgbouncer and for the gateway (the
// control plane and the agent) in one run. The gateway's floor is two processes that each read and
// write every statement once in each direction, where pgbouncer is one; this shows it in counts, which
// a busy machine does not blur the way it blurs CPU time.
//   npm run build && node bench/pg/syscalls.mjs   (BENCH_SECONDS=8, BENCH_CLIENTS=8, BENCH_MODE=simple)
import { execFile, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { freePort, startBenchStack } from '../support/stack.mjs';
import { startPgbouncer } from '../support/pgbouncer.mjs';
import { preparePgbench } from '../support/pgbench-db.mjs';

const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const MODE = process.env.BENCH_MODE ?? 'simple';
const DB = 'gateway_bench_pg';
const POLICY = `
@id("bench-connect") permit (principal, action == Gateway::Action::"connect", resource) when { resource.type == "postgres" };
@id("bench-sql")
@mask("email:partial, card:full, ssn:full, phone:partial, iban:partial")
permit (principal, action in [Gateway::Action::"sql:select", Gateway::Action::"sql:session"], resource)
when { resource.type == "postgres" };`;

/** strace -c -f on `pid` while pgbench runs; returns calls per kind. */
async function straced(pid, pgbenchArgs, env) {
  const out = `/tmp/gw-syscalls-${process.pid}-${pid}.txt`;
  const tracer = spawn('strace', ['-c', '-f', '-q', '-o', out, '-p', String(pid)], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const { stdout } = await run('pgbench', [...pgbenchArgs, '-S', '-M', MODE, '-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS), '-n'], { env: { ...process.env, ...env } });
  tracer.kill('SIGINT');
  await new Promise((resolve) => tracer.once('exit', resolve));
  const calls = {};
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$/.exec(line);
    if (m && m[2] !== 'total') calls[m[2]] = Number(m[1]);
  }
  rmSync(out, { force: true });
  return { calls, statements: Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1]) };
}

/** Every kind of call made at least once per 20 statements, most frequent first, and the total. */
function print(name, { calls, statements }) {
  const per = Object.entries(calls).map(([kind, n]) => [kind, n / statements]).filter(([, n]) => n >= 0.05).sort((a, b) => b[1] - a[1]);
  const total = Object.values(calls).reduce((a, b) => a + b, 0) / statements;
  console.log(`${name.padEnd(24)} ${total.toFixed(2).padStart(6)}   ${per.map(([k, n]) => `${k} ${n.toFixed(2)}`).join(', ')}`);
}

await preparePgbench(DB);
const stack = await startBenchStack({
  policy: POLICY,
  resources: [{ name: 'pgbench', type: 'postgres', address: '127.0.0.1:5432', labels: {}, postgres: { database: DB }, credentials: { user: 'literal:postgres' } }],
});
try {
  const token = await stack.token('ai-agent');
  const gateway = ['-h', '127.0.0.1', '-p', String(stack.pgPort), '-U', 'bench_user', 'pgbench'];
  const gwEnv = { PGPASSWORD: token, PGSSLMODE: 'require' };
  // Warm both processes (JIT, caches) before counting.
  await run('pgbench', [...gateway, '-S', '-M', MODE, '-c', String(CLIENTS), '-j', '2', '-T', '3', '-n'], { env: { ...process.env, ...gwEnv } });
  console.log(`\nsystem calls per select-only statement (pgbench -M ${MODE} -c ${CLIENTS}, strace -c -f while it runs ${SECONDS} s; TLS to pgbouncer and to the gateway)`);
  console.log(`${'process'.padEnd(24)} ${'all'.padStart(6)}   per kind`);
  const bouncer = await startPgbouncer({ port: await freePort(), database: DB, dbAlias: 'pgbench', poolMode: MODE === 'prepared' ? 'session' : 'transaction', poolSize: CLIENTS });
  try {
    print('pgbouncer', await straced(bouncer.pid, ['-h', '127.0.0.1', '-p', String(bouncer.port), '-U', 'postgres', 'pgbench'], { PGSSLMODE: 'require' }));
  } finally {
    await bouncer.stop();
  }
  print('gateway: control plane', await straced(stack.controlPlanePid, gateway, gwEnv));
  print('gateway: agent', await straced(stack.agentPid, gateway, gwEnv));
} finally {
  await stack.stop();
}
process.exit(0);
