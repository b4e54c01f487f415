// Webhook delivery figures: what the dispatcher adds to a publish (it runs before the API answers),
// the time from publish to the receiver's hand, and deliveries per second, with a real local
// receiver answering 204. In-process control plane from the built dist/ (`npm run build` first),
// its own database and Redis prefix.
//
//   node bench/webhooks/run.mjs            (BENCH_EVENTS=300 by default)
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../apps/control-plane/dist/config/app-config.js';
import { createApp } from '../../apps/control-plane/dist/app.js';
import { DomainEvents } from '../../apps/control-plane/dist/events/domain-events.service.js';
import { WebhooksService } from '../../apps/control-plane/dist/webhooks/webhooks.service.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 300);
const db = `gw_bench_webhooks_${randomBytes(3).toString('hex')}`;
const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
await admin.connect();
await admin.query(`CREATE DATABASE ${db}`);

const received = new Map(); // event id -> ms when the receiver got it
const receiver = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    received.set(JSON.parse(Buffer.concat(chunks).toString()).event.id, performance.now());
    res.writeHead(204).end();
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const receiverUrl = `http://127.0.0.1:${receiver.address().port}/hook`;

const dataDir = mkdtempSync(join(tmpdir(), 'gw-bench-webhooks-'));
const config = loadConfig({
  HTTP_PORT: '0', PG_PORT: '0', DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${db}`, LOG_LEVEL: 'warn',
  REDIS_PREFIX: `gwbench-${randomBytes(3).toString('hex')}`, DATA_DIR: dataDir,
});
const app = await createApp(config);
await app.listen(0, '127.0.0.1');
const events = app.get(DomainEvents);
const webhooks = app.get(WebhooksService);
const actor = { id: 'bench', kind: 'user', gatewayRoles: ['admin'] };
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const fmt = (ms) => `${ms.toFixed(2)} ms`;
const grant = (i) => ({ grant: { id: `g-${i}`, principalId: 'bench#agent', resource: 'postgres-demo', role: 'reader', expiresAt: new Date().toISOString() } });

async function publishLatency(label) {
  const times = [];
  const published = [];
  for (let i = 0; i < EVENTS; i++) {
    const t0 = performance.now();
    const e = await events.publish('grant.created', grant(i));
    times.push(performance.now() - t0);
    published.push([e.id, t0]);
  }
  console.log(`publish, ${label}: p50 ${fmt(pct(times, 50))}, p99 ${fmt(pct(times, 99))} (${EVENTS} sequential publishes)`);
  return published;
}

async function allReceived(ids, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!ids.every((id) => received.has(id))) {
    if (Date.now() > deadline) throw new Error('not all deliveries arrived');
    await new Promise((r) => setTimeout(r, 20));
  }
}

try {
  await publishLatency('no subscription');
  await webhooks.create({ url: receiverUrl, events: ['grant.*'], format: 'json' }, actor);
  const published = await publishLatency('1 matching subscription');
  await allReceived(published.map(([id]) => id));
  const lag = published.map(([id, t0]) => received.get(id) - t0);
  console.log(`publish -> receiver: p50 ${fmt(pct(lag, 50))}, p99 ${fmt(pct(lag, 99))}`);

  received.clear();
  const t0 = performance.now();
  const burst = await Promise.all(Array.from({ length: EVENTS }, (_, i) => events.publish('grant.created', grant(i))));
  await allReceived(burst.map((e) => e.id));
  const seconds = (performance.now() - t0) / 1000;
  console.log(`burst of ${EVENTS} concurrent publishes: all delivered in ${seconds.toFixed(2)} s, ${(EVENTS / seconds).toFixed(0)} deliveries/s`);
} finally {
  await app.close();
  receiver.close();
  await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin.end();
  rmSync(dataDir, { recursive: true, force: true });
}
