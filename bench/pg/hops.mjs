// Where one statement waits: the latency of each hop of the gateway's data path, from the control
// plane reading a client's Query to it writing the answer back, with pgbench select-only through the
// gateway at -c 1, 8 and 32 (BENCH_CLIENTS), plus each process's event-loop delay and CPU per statement.
//   npm run build && node bench/pg/hops.mjs   (BENCH_SECONDS=10 per run; BENCH_MODE=simple|prepared;
//   BENCH_BEFORE=<path of another checkout, built> measures that build first, in the same run)
// The control plane and the agent run with bench/support/hop-trace.mjs preloaded, which records the
// marks of libs/tunnel/src/hop-trace.ts (nothing is recorded without it).
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startBenchStack } from '../support/stack.mjs';
import { preparePgbench } from '../support/pgbench-db.mjs';
import { cpuMs } from '../support/process-stats.mjs';

const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CLIENTS = (process.env.BENCH_CLIENTS ?? '1,8,32').split(',').map(Number);
const MODE = process.env.BENCH_MODE ?? 'simple';
const DB = 'gateway_bench_hops';
const POLICY = `
@id("bench-connect") permit (principal, action == Gateway::Action::"connect", resource) when { resource.type == "postgres" };
@id("bench-sql")
@mask("email:partial, card:full, ssn:full, phone:partial, iban:partial")
permit (principal, action in [Gateway::Action::"sql:select", Gateway::Action::"sql:session"], resource) when { resource.type == "postgres" };`;

/** The hops in the order a statement crosses them, each named by the mark that ends it. */
const CHAIN = [
  ['cp.req.in', 'control plane reads the client chunk (TLS decrypted)'],
  ['cp.data.out', 'control plane: into the tunnel stream (framing)'],
  ['cp.flush', 'control plane: waits for the frame batch to leave'],
  ['agent.data.in', 'WebSocket to the agent (send, kernel, agent wakes, decode)'],
  ['agent.req.upstream', 'agent: parse, classify, decide, write to Postgres'],
  ['agent.res.in', 'Postgres runs it (and the agent wakes to read)'],
  ['agent.res.record', 'agent: parse the answer, mask rows, record'],
  ['agent.res.release', 'agent: record made durable (journal flush)'],
  ['agent.data.out', 'agent: into the tunnel stream (framing)'],
  ['agent.flush', 'agent: waits for the frame batch to leave'],
  ['cp.data.in', 'WebSocket to the control plane (send, kernel, wake, decode)'],
  ['cp.res.out', 'control plane writes the answer to the client (TLS)'],
];
const INDEX = new Map(CHAIN.map(([p], i) => [p, i]));

/** Reads every mark and event-loop sample the two processes wrote. */
function readTrace(dir) {
  const marks = [];
  const eld = { cp: [], agent: [] };
  for (const name of readdirSync(dir)) {
    const side = name.startsWith('agent') ? 'agent' : 'cp';
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (!line) continue;
      const [point, a, b, c, d, e] = line.split(' ');
      if (point === 'eld') eld[side].push({ ns: BigInt(a), p50: Number(b), p99: Number(c), max: Number(d), mean: Number(e) });
      else marks.push({ point, stream: Number(a), ns: BigInt(b) });
    }
  }
  return { marks, eld };
}

/**
 * Follows each stream's marks in time order through the chain: a cycle starts at the control
 * plane reading a client chunk and is complete when the answer is written back. Marks out of order
 * (startup, credit-only turns) are skipped.
 */
function hopDurations(marks, from, to) {
  const byStream = new Map();
  for (const m of marks) {
    if (m.ns < from || m.ns > to || !INDEX.has(m.point)) continue;
    (byStream.get(m.stream) ?? byStream.set(m.stream, []).get(m.stream)).push(m);
  }
  const hops = CHAIN.map(() => []);
  for (const list of byStream.values()) {
    list.sort((x, y) => (x.ns < y.ns ? -1 : x.ns > y.ns ? 1 : 0));
    let cycle;
    for (const m of list) {
      const i = INDEX.get(m.point);
      if (i === 0) {
        cycle = [m.ns];
        continue;
      }
      if (!cycle || cycle.length !== i) continue;
      cycle.push(m.ns);
      if (cycle.length === CHAIN.length) {
        for (let h = 1; h < CHAIN.length; h++) hops[h].push(Number(cycle[h] - cycle[h - 1]) / 1000);
        hops[0].push(Number(cycle[CHAIN.length - 1] - cycle[0]) / 1000);
        cycle = undefined;
      }
    }
  }
  return hops;
}

const median = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : NaN);
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const p = (v) => (Number.isFinite(v) ? v.toFixed(0) : '-').padStart(8);

/** Runs pgbench at each client count through one build of the gateway and returns what it measured. */
async function measureBuild(mains) {
  const traceDir = mkdtempSync(join(tmpdir(), 'gw-hops-'));
  process.env.BENCH_HOP_DIR = traceDir;
  if (mains) {
    process.env.BENCH_CP_MAIN = join(mains, 'apps/control-plane/dist/main.js');
    process.env.BENCH_AGENT_MAIN = join(mains, 'apps/agent/dist/main.js');
  } else {
    delete process.env.BENCH_CP_MAIN;
    delete process.env.BENCH_AGENT_MAIN;
  }
  const stack = await startBenchStack({
    policy: POLICY,
    resources: [{ name: 'pgbench', type: 'postgres', address: '127.0.0.1:5432', labels: {}, postgres: { database: DB }, credentials: { user: 'literal:postgres' } }],
  });
  const windows = [];
  try {
    const token = await stack.token('ai-agent');
    for (const clients of CLIENTS) {
      const cpu0 = { cp: cpuMs(stack.controlPlanePid), agent: cpuMs(stack.agentPid) };
      const from = process.hrtime.bigint();
      const { stdout } = await run('pgbench', ['-S', '-M', MODE, '-n', '-c', String(clients), '-j', String(Math.min(clients, 2)), '-T', String(SECONDS), '-h', '127.0.0.1', '-p', String(stack.pgPort), '-U', 'bench_user', 'pgbench'], {
        env: { ...process.env, PGPASSWORD: token, PGSSLMODE: 'require' },
      });
      const to = process.hrtime.bigint();
      const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1]);
      const tx = tps * SECONDS;
      windows.push({
        clients, from, to, tps, latencyMs: Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1]),
        cpu: { cp: ((cpuMs(stack.controlPlanePid) - cpu0.cp) * 1000) / tx, agent: ((cpuMs(stack.agentPid) - cpu0.agent) * 1000) / tx },
      });
    }
  } finally {
    await stack.stop();
  }
  return { windows, ...readTrace(traceDir) };
}

function print(label, { windows, marks, eld }) {
  console.log(`\n${label}: one select-only statement (-M ${MODE}) through the gateway, per hop (µs, median / mean over every statement of a ${SECONDS} s pgbench run):`);
  console.log(`${'hop'.padEnd(64)}${windows.map((w) => `   -c ${String(w.clients).padEnd(2)} med    mean`).join('')}`);
  const perWindow = windows.map((w) => hopDurations(marks, w.from, w.to));
  for (let h = 1; h < CHAIN.length; h++) {
    console.log(`${CHAIN[h][1].padEnd(64)}${perWindow.map((hops) => `${p(median(hops[h]))}${p(mean(hops[h]))}`).join('')}`);
  }
  console.log(`${'= inside the gateway (control plane read to control plane write)'.padEnd(64)}${perWindow.map((hops) => `${p(median(hops[0]))}${p(mean(hops[0]))}`).join('')}`);
  console.log(`${'pgbench mean latency (client and its TLS included)'.padEnd(64)}${windows.map((w) => `${''.padStart(8)}${p(w.latencyMs * 1000)}`).join('')}`);
  console.log(`${'statements traced'.padEnd(64)}${perWindow.map((hops) => `${''.padStart(8)}${p(hops[0].length)}`).join('')}`);
  console.log(`\n${'clients'.padEnd(8)}${'tps'.padStart(8)}  CP us/stmt  agent us/stmt   event-loop delay µs (p50 / p99 / max of 250 ms windows; includes the 1 ms sampling interval): control plane | agent`);
  for (const w of windows) {
    const inWindow = (side) => eld[side].filter((x) => x.ns > w.from && x.ns <= w.to);
    const line = (side) => {
      const s = inWindow(side);
      return `${p(median(s.map((x) => x.p50)))}${p(median(s.map((x) => x.p99)))}${p(Math.max(...s.map((x) => x.max)))}`;
    };
    console.log(`${String(w.clients).padEnd(8)}${w.tps.toFixed(0).padStart(8)}${w.cpu.cp.toFixed(0).padStart(12)}${w.cpu.agent.toFixed(0).padStart(15)}   ${line('cp')} |${line('agent')}`);
  }
}

await preparePgbench(DB, 'SELECT');
process.env.BENCH_NODE_ARGS = `${process.env.BENCH_NODE_ARGS ?? ''} --import=${resolve('bench/support/hop-trace.mjs')}`;
// BENCH_BEFORE=<another checkout, built>: the same runs through that build first, for a before/after in one run.
if (process.env.BENCH_BEFORE) print(`before (${process.env.BENCH_BEFORE})`, await measureBuild(resolve(process.env.BENCH_BEFORE)));
print('this build', await measureBuild(undefined));
process.exit(0);
