// pgbench through the gateway (TLS endpoint, per-statement classification and policy, masking,
// recording) against the same database directly, in the same run.
//   npm run build && node bench/pg/run.mjs          (BENCH_SECONDS=30 by default; BENCH_PROFILE=1 for --cpu-prof)
//   BENCH_FILTER='(-S) -M simple' runs only the scripts whose label contains that text (while iterating).
//   BENCH_HOLD=1 starts the stack, prints the pgbench command line and pids, and waits for Ctrl-C.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import { startBenchStack } from '../support/stack.mjs';

const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const FILTER = process.env.BENCH_FILTER ?? '';
const DB = 'gateway_bench_pg';
const POLICY = `
@id("bench-connect") permit (principal, action == Gateway::Action::"connect", resource) when { resource.type == "postgres" };
@id("bench-sql")
@mask("email:partial, card:full, ssn:full, phone:partial, iban:partial")
permit (principal, action in [Gateway::Action::"sql:select", Gateway::Action::"sql:insert", Gateway::Action::"sql:update", Gateway::Action::"sql:session"], resource)
when { resource.type == "postgres" };`;

async function prepare() {
  const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB}`);
  if ((await admin.query(`SELECT 1 FROM pg_roles WHERE rolname = 'bench_user'`)).rowCount === 0) await admin.query('CREATE ROLE bench_user NOLOGIN');
  await admin.end();
  await run('pgbench', ['-i', '-s', '10', '-q', '-h', '127.0.0.1', '-U', 'postgres', DB]);
  const db = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${DB}` });
  await db.connect();
  await db.query('GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO bench_user');
  await db.end();
}

async function pgbench(args, env) {
  const { stdout } = await run('pgbench', [...args, '-c', '8', '-j', '2', '-T', String(SECONDS), '-n'], { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1]);
  const latency = Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1]);
  const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
  return { tps, latency, failed };
}

/** CPU time (user + system, ms) a process has used so far. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (100/s)
}

await prepare();
const stack = await startBenchStack({
  policy: POLICY,
  // Loopback cleartext too (still refused from other addresses), to show what TLS costs: direct is cleartext.
  controlPlaneEnv: { PG_ALLOW_CLEARTEXT: 'true' },
  resources: [{ name: 'pgbench', type: 'postgres', address: '127.0.0.1:5432', labels: {}, postgres: { database: DB }, credentials: { user: 'literal:postgres' } }],
});
try {
  const token = await stack.token('ai-agent');
  const direct = ['-h', '127.0.0.1', '-p', '5432', '-U', 'postgres', DB];
  const gateway = ['-h', '127.0.0.1', '-p', String(stack.pgPort), '-U', 'bench_user', 'pgbench'];
  const gwEnv = { PGPASSWORD: token, PGSSLMODE: 'require' };
  if (process.env.BENCH_HOLD) {
    // Keep the stack up for manual runs (perf, strace): prints the pgbench line and waits for Ctrl-C.
    console.log(`PGPASSWORD='${token}' PGSSLMODE=require pgbench ${gateway.join(' ')}  # CP pid ${stack.controlPlanePid}, agent pid ${stack.agentPid}`);
    await new Promise((resolve) => process.once('SIGINT', resolve).once('SIGTERM', resolve));
  }
  const results = [];
  for (const [label, extra] of [['select-only (-S)', ['-S']], ['default (TPC-B)', []]]) {
    for (const mode of ['simple', 'prepared']) {
      if (!`${label} -M ${mode}`.includes(FILTER)) continue;
      const d = await pgbench([...extra, '-M', mode, ...direct], {});
      const before = { cp: cpuMs(stack.controlPlanePid), agent: cpuMs(stack.agentPid) };
      const g = await pgbench([...extra, '-M', mode, ...gateway], gwEnv);
      // CPU per transaction of our two processes: steadier than TPS on a shared machine.
      const tx = g.tps * SECONDS;
      g.cpCpuUs = ((cpuMs(stack.controlPlanePid) - before.cp) * 1000) / tx;
      g.agentCpuUs = ((cpuMs(stack.agentPid) - before.agent) * 1000) / tx;
      results.push({ label: `${label} -M ${mode}`, d, g });
      if (extra.length > 0) {
        // Select-only also without TLS between pgbench and the endpoint (direct is cleartext as well).
        const before2 = { cp: cpuMs(stack.controlPlanePid), agent: cpuMs(stack.agentPid) };
        const c = await pgbench([...extra, '-M', mode, ...gateway], { ...gwEnv, PGSSLMODE: 'disable' });
        const tx2 = c.tps * SECONDS;
        c.cpCpuUs = ((cpuMs(stack.controlPlanePid) - before2.cp) * 1000) / tx2;
        c.agentCpuUs = ((cpuMs(stack.agentPid) - before2.agent) * 1000) / tx2;
        results.push({ label: `${label} -M ${mode}, no TLS`, d, g: c });
      }
    }
  }
  console.log(`\npgbench -c 8 -j 2 -T ${SECONDS}, scale 10: direct vs through the gateway (inspection, masking, recording on; TLS to the endpoint unless 'no TLS')`);
  console.log('script                                 direct tps  gateway tps  ratio   direct ms  gateway ms  failed(gw)  CP us/tx  agent us/tx');
  for (const { label, d, g } of results) {
    console.log(`${label.padEnd(38)} ${d.tps.toFixed(0).padStart(10)} ${g.tps.toFixed(0).padStart(12)}  ${(g.tps / d.tps).toFixed(2).padStart(5)}  ${d.latency.toFixed(2).padStart(9)}  ${g.latency.toFixed(2).padStart(10)}  ${String(g.failed).padStart(10)}  ${g.cpCpuUs.toFixed(0).padStart(8)}  ${g.agentCpuUs.toFixed(0).padStart(11)}`);
  }
} finally {
  await stack.stop();
}
process.exit(0);
