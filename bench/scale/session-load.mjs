// The client side of bench/scale's load, in a process of its own: it opens the thousands of
// `gw connect` sessions and keeps the busy ones sending. Workloads are processes of their own, and
// the bench's open sampler (bench/scale/run.mjs) must not time its opens on an event loop that also
// serves 500 busy sockets: that would add this process's own delay to every open it times.
// Started by bench/scale/run.mjs (fork, IPC):
//   in:  { type: 'open', lbPort, token, sessions, agents, concurrency } -> out: { type: 'opened', latencies }
//   in:  { type: 'busy', count, seconds }                               -> out: { type: 'busy-done', rtts }
//   in:  { type: 'close' }                                               -> exits
import WebSocket from 'ws';
import { openSession, pool, sessionUrl } from './connect-session.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let opened = [];

async function openAll({ lbPort, token, sessions, agents, concurrency }) {
  const all = await pool(Array.from({ length: sessions }, (_, i) => i), concurrency, (i) => openSession(sessionUrl(lbPort, `echo-${i % agents}`), token));
  opened = all.filter((s) => Number.isFinite(s.latency)).map((s) => s.ws);
  for (const s of all) if (!Number.isFinite(s.latency)) s.ws.terminate();
  return all.map((s) => s.latency);
}

async function driveBusy({ count, seconds }) {
  const rtts = [];
  const until = Date.now() + seconds * 1000;
  const payload = Buffer.alloc(64, 7);
  await Promise.all(opened.slice(0, count).map(async (ws) => {
    while (Date.now() < until && ws.readyState === WebSocket.OPEN) {
      const sent = performance.now();
      await new Promise((resolve) => { ws.once('message', resolve); ws.send(payload); });
      rtts.push(performance.now() - sent);
      await sleep(100);
    }
  }));
  return rtts;
}

process.on('message', async (message) => {
  if (message.type === 'open') process.send({ type: 'opened', latencies: await openAll(message) });
  else if (message.type === 'busy') process.send({ type: 'busy-done', rtts: await driveBusy(message) });
  else if (message.type === 'close') {
    for (const ws of opened) ws.terminate();
    process.exit(0);
  }
});
