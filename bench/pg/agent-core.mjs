// The agent's Postgres wing without sockets: CPU per statement of one PgSession (parse, classify,
// decide, mask, record durably in the real journal) fed pgbench's select-only Query as bytes, with
// the database's answer canned. No network, no other process: the figure holds on a busy machine.
//   npm run build && node bench/pg/agent-core.mjs   (BENCH_STATEMENTS=20000, BENCH_SESSIONS=1,8,32, BENCH_DURABILITY=write|fsync)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import pino from 'pino';
import { BackendParser, FrontendParser, serializeBackend, serializeFrontend, startupMessage } from '@gw/protocol-postgres';
import { loadSqlParser } from '@gw/sql';
import { PgSession } from '../../apps/agent/dist/protocols/postgres/pg-session.js';
import { ColumnCatalog } from '../../apps/agent/dist/protocols/postgres/column-catalog.js';
import { PolicyHolder } from '../../apps/agent/dist/policy/policy-holder.js';
import { principalFromGrant } from '../../apps/agent/dist/protocols/postgres/statement-policy.js';
import { RecordingJournal } from '../../apps/agent/dist/recording/recording-journal.js';
import { SessionSpool } from '../../apps/agent/dist/recording/recording-spool.js';

const STATEMENTS = Number(process.env.BENCH_STATEMENTS ?? 20000);
const SESSIONS = (process.env.BENCH_SESSIONS ?? '1,8,32').split(',').map(Number);
const DURABILITY = process.env.BENCH_DURABILITY ?? 'write';
const POLICY = `
@id("bench-sql")
@mask("email:partial, card:full, ssn:full, phone:partial, iban:partial")
permit (principal, action in [Gateway::Action::"sql:select", Gateway::Action::"sql:session"], resource) when { resource.type == "postgres" };`;

await loadSqlParser();
const log = pino({ level: process.env.BENCH_LOG ?? 'silent' });
const policy = new PolicyHolder(() => ({ version: 1, sha256: 'bench', text: POLICY }), log);
const answer = Buffer.concat([
  serializeBackend({ kind: 'RowDescription', fields: [{ name: 'abalance', tableOid: 16390, columnAttr: 3, typeOid: 23, typeSize: 4, typeModifier: -1, format: 0 }] }),
  serializeBackend({ kind: 'DataRow', values: [Buffer.from('0')] }),
  serializeBackend({ kind: 'CommandComplete', tag: 'SELECT 1' }),
  serializeBackend({ kind: 'ReadyForQuery', status: 'I' }),
]);

function session(journal, index, onAnswer) {
  const client = new Duplex({ read() {}, write(chunk, _e, cb) { onAnswer(chunk); cb(); } });
  const upstream = new Duplex({ read() {}, write(_chunk, _e, cb) { setImmediate(() => upstream.push(answer)); cb(); } });
  const spool = new SessionSpool(`00000000-0000-4000-8000-${String(index).padStart(12, '0')}`, journal);
  const catalog = new ColumnCatalog(undefined);
  // The handler's parser has read the StartupMessage before the session starts.
  const frontend = new FrontendParser();
  for (const _ of frontend.parse(startupMessage(new Map([['user', 'bench_user'], ['database', 'pgbench']])))) { /* consumed */ }
  new PgSession({
    client, frontend, upstream, backend: new BackendParser(),
    upstreamAddress: { host: '127.0.0.1', port: 5432 }, upstreamKey: undefined, policy,
    policyContext: {
      principal: principalFromGrant({ id: 'ai-agent', displayName: 'AI Agent', kind: 'workload', gatewayRoles: ['requester'], groups: [], appId: 'ai-agent', tenantId: 't' }),
      resource: { name: 'pgbench', type: 'postgres', labels: {} }, dbRole: 'bench_user', sourceIp: '127.0.0.1', userFunctions: new Set(), userCodeViews: new Set(),
    },
    catalog, maskingKey: Buffer.alloc(32, 1),
    recorder: { sessionId: spool.sessionId, record: (t, d) => void spool.append(t, d), recordDurable: (t, d) => spool.append(t, d, true), flushed: () => spool.flushed() },
    sampleRows: 3, log, onEnd: () => undefined,
  });
  return client;
}

async function run(sessions) {
  const dir = mkdtempSync(join(tmpdir(), 'gw-agent-core-'));
  const journal = new RecordingJournal(dir, 20, undefined, { durability: DURABILITY });
  let done = 0;
  const perSession = Math.ceil(STATEMENTS / sessions);
  const start = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: sessions }, (_, i) => new Promise((resolve) => {
    let sent = 0;
    const next = () => {
      if (sent === perSession) return resolve();
      sent += 1;
      client.push(serializeFrontend({ kind: 'Query', sql: `SELECT abalance FROM pgbench_accounts WHERE aid = ${1 + Math.floor(Math.random() * 1_000_000)};` }));
    };
    const client = session(journal, i, (chunk) => {
      // ReadyForQuery ends the answer: the next statement goes.
      if (chunk.length >= 6 && chunk[chunk.length - 6] === 0x5a) { done += 1; next(); }
    });
    next();
  })));
  const cpu = process.cpuUsage(cpu0);
  const wallUs = Number(process.hrtime.bigint() - start) / 1000;
  await journal.close();
  rmSync(dir, { recursive: true, force: true });
  return { sessions, done, cpuUs: (cpu.user + cpu.system) / done, wallUs: wallUs / done, flushes: journal.stats.flushes };
}

await run(4); // warm up the JIT and the classifier's caches
console.log(`agent Postgres wing, no sockets, durability ${DURABILITY}: CPU per statement (select-only, masking and recording on)`);
for (const sessions of SESSIONS) {
  const r = await run(sessions);
  console.log(`sessions ${String(sessions).padStart(3)}: ${r.cpuUs.toFixed(1).padStart(7)} µs CPU/stmt, ${r.wallUs.toFixed(1).padStart(7)} µs wall/stmt, ${r.done} statements, ${r.flushes} journal flushes`);
}
