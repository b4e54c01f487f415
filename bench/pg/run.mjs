// pgbench through the gateway (TLS endpoint, per-statement classification and policy, masking,
// recording) against the same database directly and through pgbouncer (TLS to the client), in one run,
// at -c 8 and -c 32: select-only and TPC-B, -M simple and -M prepared.
//   npm run build && node bench/pg/run.mjs   (BENCH_SECONDS=20 per run; BENCH_CLIENTS=8,32; BENCH_PROFILE=1 for --cpu-prof)
//   BENCH_FILTER='-S) -M simple -c 8' runs only the scripts whose label contains that text (while iterating).
//   BENCH_NO_TLS=1 adds a gateway run without TLS to the endpoint.
//   The floor (bench/pg/floor: two bare Node relays shaped like the gateway, TLS at the front, one WebSocket
//   between them, no inspection) runs beside them, as what two Node processes reach at best; BENCH_FLOOR=0 skips it,
//   BENCH_FLOOR=tunnel runs it on the gateway's own transport (socket.io and @gw/tunnel channels) instead of a bare WebSocket.
//   BENCH_HOLD=1 starts the stack, prints the pgbench command line and pids, and waits for Ctrl-C.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort, rssOf, startBenchStack } from '../support/stack.mjs';
import { startPgbouncer } from '../support/pgbouncer.mjs';
import { startPgFloor } from '../support/pg-floor.mjs';
import { preparePgbench } from '../support/pgbench-db.mjs';
import { cpuMs } from '../support/process-stats.mjs';

const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CLIENTS = (process.env.BENCH_CLIENTS ?? '8,32').split(',').map(Number);
const FILTER = process.env.BENCH_FILTER ?? '';
// Every path gets the same unmeasured warm-up run first: the gateway's JIT compiles its hot paths and
// its caches fill in the first seconds, as in any long-running process; pgbouncer and Postgres get it too.
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5);
const DB = 'gateway_bench_pg';
const POLICY = `
@id("bench-connect") permit (principal, action == Gateway::Action::"connect", resource) when { resource.type == "postgres" };
@id("bench-sql")
@mask("email:partial, card:full, ssn:full, phone:partial, iban:partial")
permit (principal, action in [Gateway::Action::"sql:select", Gateway::Action::"sql:insert", Gateway::Action::"sql:update", Gateway::Action::"sql:session"], resource)
when { resource.type == "postgres" };`;

async function pgbench(args, env, clients, seconds = SECONDS) {
  const { stdout } = await run('pgbench', [...args, '-c', String(clients), '-j', '2', '-T', String(seconds), '-n'], { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1]);
  const latency = Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1]);
  const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
  return { tps, latency, failed };
}

/** Runs pgbench against one path and measures the CPU our processes spent per transaction meanwhile. */
async function measure(args, env, clients, pids = {}) {
  if (WARMUP > 0) await pgbench(args, env, clients, WARMUP);
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
  const r = await pgbench(args, env, clients);
  const tx = r.tps * SECONDS;
  r.cpuUsPerTx = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, ((cpuMs(pid) - before[k]) * 1000) / tx]));
  return r;
}

await preparePgbench(DB);
const stack = await startBenchStack({
  policy: POLICY,
  // Loopback cleartext too (still refused from other addresses), to show what TLS costs: direct is cleartext.
  controlPlaneEnv: { PG_ALLOW_CLEARTEXT: 'true' },
  resources: [{ name: 'pgbench', type: 'postgres', address: '127.0.0.1:5432', labels: {}, postgres: { database: DB }, credentials: { user: 'literal:postgres' } }],
});
// The peer: pgbouncer with TLS to the client. Transaction pooling for -M simple; pgbouncer 1.18 (Debian)
// cannot keep prepared statements across transactions, so -M prepared goes through a session-pooling
// pgbouncer (pool as large as the clients, so it is the same relay work without the statement rewrite).
// One pgbouncer per run, stopped after it: its idle server connections would use up Postgres' slots.
async function throughPgbouncer(poolMode, args, clients) {
  const bouncer = await startPgbouncer({ port: await freePort(), database: DB, dbAlias: 'pgbench', poolMode, poolSize: clients });
  try {
    return await measure([...args, '-h', '127.0.0.1', '-p', String(bouncer.port), '-U', 'postgres', 'pgbench'], { PGSSLMODE: 'require' }, clients, { pgbouncer: bouncer.pid });
  } finally {
    await bouncer.stop();
  }
}
// The agent's memory: at start, and once it has served every run (idle again, nothing collected by hand).
const agentRssAtStart = await rssOf(stack.agentPid);
const floor = process.env.BENCH_FLOOR === '0' ? undefined : await startPgFloor(process.env.BENCH_FLOOR === 'tunnel' ? 'tunnel' : 'ws');
try {
  const token = await stack.token('ai-agent');
  const direct = ['-h', '127.0.0.1', '-p', '5432', '-U', 'postgres', DB];
  const gateway = ['-h', '127.0.0.1', '-p', String(stack.pgPort), '-U', 'bench_user', 'pgbench'];
  const gwEnv = { PGPASSWORD: token, PGSSLMODE: 'require' };
  const ourPids = { cp: stack.controlPlanePid, agent: stack.agentPid };
  if (process.env.BENCH_HOLD) {
    // Keep the stack up for manual runs (perf, strace): prints the pgbench line and waits for Ctrl-C.
    console.log(`PGPASSWORD='${token}' PGSSLMODE=require pgbench ${gateway.join(' ')}  # CP pid ${stack.controlPlanePid}, agent pid ${stack.agentPid}`);
    await new Promise((resolve) => process.once('SIGINT', resolve).once('SIGTERM', resolve));
  }
  const results = [];
  for (const [label, extra, statements] of [['select-only (-S)', ['-S'], 1], ['TPC-B', [], 7]]) {
    for (const mode of ['simple', 'prepared']) {
      for (const clients of CLIENTS) {
        const name = `${label} -M ${mode} -c ${clients}`;
        if (!name.includes(FILTER)) continue;
        const poolMode = mode === 'prepared' ? 'session' : 'transaction';
        const d = await measure([...extra, '-M', mode, ...direct], {}, clients);
        const b = await throughPgbouncer(poolMode, [...extra, '-M', mode], clients);
        const g = await measure([...extra, '-M', mode, ...gateway], gwEnv, clients, ourPids);
        const f = floor && (await measure([...extra, '-M', mode, '-h', '127.0.0.1', '-p', String(floor.port), '-U', 'postgres', DB], { PGSSLMODE: 'require' }, clients, { cp: floor.frontPid, agent: floor.backPid }));
        const row = { name, statements, d, b, g, f, poolMode };
        if (process.env.BENCH_NO_TLS) row.c = await measure([...extra, '-M', mode, ...gateway], { ...gwEnv, PGSSLMODE: 'disable' }, clients, ourPids);
        results.push(row);
        printRow(row, results.length === 1);
      }
    }
  }
  const MiB = 1024 * 1024;
  console.log(`\nagent RSS: ${(agentRssAtStart / MiB).toFixed(0)} MiB at start, ${((await rssOf(stack.agentPid)) / MiB).toFixed(0)} MiB after the runs`);
} finally {
  await floor?.stop();
  await stack.stop();
}
process.exit(0);

function printRow({ name, statements, d, b, g, f, c, poolMode }, header) {
  if (header) {
    console.log(`\npgbench -j 2 -T ${SECONDS} after a ${WARMUP} s warm-up run of the same script on the same path, scale 10. Paths: direct (cleartext), pgbouncer (TLS to the client), gateway (TLS to the endpoint; inspection, masking, recording on), floor (two bare Node relays, TLS at the front, nothing inspected; its CPU in the CP/agent columns).`);
    console.log('script                               path        tps   ms/tx  /direct  /pgbouncer  failed  CP us/stmt  agent us/stmt  pgbouncer us/stmt');
  }
  const line = (path, r) => {
    const cpu = (k) => (r.cpuUsPerTx?.[k] === undefined ? '' : (r.cpuUsPerTx[k] / statements).toFixed(0));
    console.log(`${name.padEnd(36)} ${path.padEnd(9)} ${r.tps.toFixed(0).padStart(7)} ${r.latency.toFixed(2).padStart(7)} ${(r.tps / d.tps).toFixed(2).padStart(8)} ${(r.tps / b.tps).toFixed(2).padStart(11)} ${String(r.failed).padStart(7)} ${cpu('cp').padStart(11)} ${cpu('agent').padStart(14)} ${cpu('pgbouncer').padStart(18)}`);
  };
  line('direct', d);
  line(`pgb-${poolMode.slice(0, 4)}`, b);
  if (f) line('floor', f);
  line('gateway', g);
  if (c) line('gw noTLS', c);
}
