// mysqlslap against MariaDB three ways in one run: directly, through a plain TCP relay (socat), and
// through the gateway (MySQL endpoint -> tunnel -> agent: classification, policy, masking, recording,
// an ephemeral user per session). Prints queries per second, the gateway's ratio to socat, and the
// CPU time per statement of the relay (socat) and of the gateway's processes (control plane + agent).
//   npm run build && node bench/mysql/run.mjs
//   BENCH_QUERIES=20000 BENCH_CONCURRENCY=8 BENCH_ROUNDS=3 (the best round of each path is reported)
// The gateway path runs without TLS (MYSQL_ALLOW_CLEARTEXT=true, loopback only), like the other two.
// Anchor for its two hops (control plane, agent): two relays in a chain that do nothing else (2×socat,
// 2×node: bench/support/relay-chain.mjs), what any two-process path reaches here at best.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { cpuMs } from '../support/process-stats.mjs';
import { startBenchStack } from '../support/stack.mjs';
import { relayChain } from '../support/relay-chain.mjs';

const run = promisify(execFile);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 20000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DB = `gw_bench_${process.pid}`;
const ROLE = `gw_bench_app_${process.pid}`;
const QUERY = 'SELECT id, name, email FROM customers WHERE id = 3';
const POLICY = `
@id("bench-mysql") @mask("email:partial, card:full")
permit (principal, action in [Gateway::Action::"connect", Gateway::Action::"sql:select", Gateway::Action::"sql:session"], resource)
when { resource.type == "mysql" };`;


async function slap({ port, user, password }) {
  const args = [
    '-h', '127.0.0.1', '-P', String(port), '-u', user, `--password=${password}`, '--skip-ssl', `--create-schema=${DB}`, `--query=${QUERY}`,
    `--concurrency=${CONCURRENCY}`, `--number-of-queries=${QUERIES}`, '--iterations=1', '--no-drop',
  ];
  const { stdout } = await run('mysqlslap', args, { maxBuffer: 1 << 20 });
  const seconds = Number(/Average number of seconds to run all queries: ([\d.]+)/.exec(stdout)?.[1]);
  if (!Number.isFinite(seconds)) throw new Error(`mysqlslap said: ${stdout}`);
  return seconds;
}

async function best(name, target, pids) {
  let bestQps = 0;
  let bestCpu = [];
  for (let round = 0; round < ROUNDS; round++) {
    const before = pids.map(({ pid }) => cpuMs(pid) / 1000);
    const seconds = await slap(target);
    const cpu = pids.map(({ pid }, i) => cpuMs(pid) / 1000 - before[i]);
    const qps = QUERIES / seconds;
    if (qps > bestQps) {
      bestQps = qps;
      bestCpu = cpu;
    }
  }
  const perStatement = (seconds) => `${((seconds / QUERIES) * 1e6).toFixed(0)} µs`;
  const total = bestCpu.reduce((a, b) => a + b, 0);
  const cpuUs = pids.length > 0 ? `CPU/statement ${perStatement(total)} (${pids.map(({ name }, i) => `${name} ${perStatement(bestCpu[i])}`).join(', ')})` : '';
  console.log(`${name.padEnd(10)} ${bestQps.toFixed(0).padStart(8)} statements/s  ${cpuUs}`);
  return bestQps;
}

const root = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', multipleStatements: true });
await root.query(`CREATE DATABASE ${DB}; CREATE TABLE ${DB}.customers (id int primary key, name varchar(50), email varchar(100));
  INSERT INTO ${DB}.customers VALUES (1, 'Ada', 'ada@example.com'), (2, 'Alan', 'alan@example.org'), (3, 'Grace', 'grace@example.net');
  CREATE ROLE ${ROLE}; GRANT SELECT ON ${DB}.* TO ${ROLE};`);

const socat = await relayChain('socat', 3306, 1);
const chains = { socat: await relayChain('socat', 3306, 2), node: await relayChain('node', 3306, 2) };
const stack = await startBenchStack({
  policy: POLICY,
  controlPlaneEnv: { MYSQL_ALLOW_CLEARTEXT: 'true' },
  resources: [{ name: 'bench-mysql', type: 'mysql', address: '127.0.0.1:3306', labels: {}, credentials: { user: 'literal:root' }, mysql: { mode: 'ephemeral' } }],
});
try {
  const token = await stack.token('ai-agent');
  console.log(`mysqlslap: ${QUERIES} x "${QUERY}", concurrency ${CONCURRENCY}, best of ${ROUNDS}; MariaDB ${(await root.query('SELECT VERSION() AS v'))[0][0].v}`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await best('direct', { port: 3306, user: 'root', password: '' }, []);
  // socat forks a process per connection, whose CPU time is not read here (they are gone at the end).
  const relay = await best('socat', { port: socat.port, user: 'root', password: '' }, []);
  const socat2 = await best('2×socat', { port: chains.socat.port, user: 'root', password: '' }, []);
  const node2 = await best('2×node', { port: chains.node.port, user: 'root', password: '' }, []);
  const gateway = await best('gateway', { port: stack.mysqlPort, user: `${ROLE}@bench-mysql`, password: token }, [{ name: 'control plane', pid: stack.controlPlanePid }, { name: 'agent', pid: stack.agentPid }]);
  console.log(`gateway / socat = ${(gateway / relay).toFixed(2)} (target >= 0.5); anchor: 2×socat / socat = ${(socat2 / relay).toFixed(2)}, 2×node / socat = ${(node2 / relay).toFixed(2)}`);
} finally {
  for (const relay of [socat, chains.socat, chains.node]) relay.close();
  await stack.stop();
  await root.query(`DROP DATABASE IF EXISTS ${DB}; DROP ROLE IF EXISTS ${ROLE}`);
  await root.end();
}
