// Tunnel benchmark: redis-benchmark and raw throughput through gw connect -> control plane ->
// agent, against a direct connection and a plain TCP relay (socat) in the same run; plus agent memory
// idle and with 100 sessions.
//   npm run build && node bench/tunnel/run.mjs
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import net from 'node:net';
import { startConnectListener } from '../../apps/cli/dist/index.js';
import { freePort, rssOf, startBenchStack } from '../support/stack.mjs';

const POLICY = `@id("bench") permit (principal, action == Gateway::Action::"connect", resource) when { resource.type == "tcp" };`;
const MiB = 1024 * 1024;

function sinkServer() {
  const server = net.createServer((s) => s.on('data', () => undefined).on('error', () => undefined).on('end', () => s.end()));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, close: () => server.close() })));
}

async function pushThrough(port, bytes) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const block = Buffer.alloc(64 * 1024, 1);
  const started = process.hrtime.bigint();
  for (let sent = 0; sent < bytes; sent += block.length) {
    if (!socket.write(block)) await new Promise((r) => socket.once('drain', r));
  }
  await new Promise((r) => socket.end(r));
  await new Promise((r) => socket.once('close', r));
  return bytes / MiB / (Number(process.hrtime.bigint() - started) / 1e9);
}

// Async on purpose: the gw connect listener runs in this process and must keep serving.
async function redisBench(port) {
  const { stdout: out } = await promisify(execFile)('redis-benchmark', ['-p', String(port), '-t', 'ping,set,get', '-n', '20000', '-c', '8', '--csv']);
  const rows = {};
  for (const line of out.trim().split('\n').slice(1)) {
    const cells = line.split(',').map((c) => c.replace(/"/g, ''));
    rows[cells[0]] = { rps: Number(cells[1]), avg: Number(cells[2]), p50: Number(cells[4]), p99: Number(cells[6]) };
  }
  return rows;
}

/** A plain TCP relay (socat, one process per connection) in front of `port`: the peer the tunnel is judged against. */
async function socatRelay(port) {
  const listen = await freePort();
  const child = spawn('socat', [`TCP-LISTEN:${listen},bind=127.0.0.1,reuseaddr,fork`, `TCP:127.0.0.1:${port}`], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    const ok = await new Promise((r) => { const s = net.connect(listen, '127.0.0.1', () => { s.destroy(); r(true); }).once('error', () => r(false)); });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port: listen, close: () => child.kill('SIGTERM') };
}

const sink = await sinkServer();
const relays = { redis: await socatRelay(6379), sink: await socatRelay(sink.port) };
const stack = await startBenchStack({
  policy: POLICY,
  resources: [
    { name: 'redis', type: 'tcp', address: '127.0.0.1:6379', labels: {} },
    { name: 'sink', type: 'tcp', address: `127.0.0.1:${sink.port}`, labels: {} },
  ],
});
try {
  const token = await stack.token('ai-agent');
  const idleRss = await rssOf(stack.agentPid);
  const redisL = await startConnectListener({ apiUrl: stack.api, token, resource: 'redis' });
  const sinkL = await startConnectListener({ apiUrl: stack.api, token, resource: 'sink' });

  const direct = await redisBench(6379);
  const relay = await redisBench(relays.redis.port);
  const tunnel = await redisBench(redisL.port);
  const directMBs = await pushThrough(sink.port, 512 * MiB);
  const relayMBs = await pushThrough(relays.sink.port, 512 * MiB);
  const tunnelMBs = await pushThrough(sinkL.port, 512 * MiB);

  // 100 concurrent sessions held open through the tunnel.
  const held = await Promise.all(Array.from({ length: 100 }, () => new Promise((resolve) => {
    const s = net.connect(redisL.port, '127.0.0.1', () => s.write('PING\r\n'));
    s.once('data', () => resolve(s));
  })));
  const rss100 = await rssOf(stack.agentPid);
  for (const s of held) s.destroy();

  console.log('\nredis-benchmark -c 8 -n 20000 (requests/s; latency ms)');
  console.log('test   direct rps  socat rps  tunnel rps  /direct  /socat   direct p50/p99   socat p50/p99   tunnel p50/p99');
  for (const t of Object.keys(direct)) {
    const d = direct[t], r = relay[t], g = tunnel[t];
    console.log(`${t.padEnd(6)} ${String(d.rps).padStart(10)} ${String(r.rps).padStart(10)} ${String(g.rps).padStart(11)}  ${(g.rps / d.rps).toFixed(2).padStart(7)} ${(g.rps / r.rps).toFixed(2).padStart(6)}   ${d.p50.toFixed(3)}/${d.p99.toFixed(3)}      ${r.p50.toFixed(3)}/${r.p99.toFixed(3)}     ${g.p50.toFixed(3)}/${g.p99.toFixed(3)}`);
  }
  console.log(`\nthroughput, 512 MiB one way: direct ${directMBs.toFixed(0)} MiB/s, socat ${relayMBs.toFixed(0)} MiB/s, tunnel ${tunnelMBs.toFixed(0)} MiB/s; tunnel/direct ${(tunnelMBs / directMBs).toFixed(2)}, tunnel/socat ${(tunnelMBs / relayMBs).toFixed(2)}`);
  console.log(`agent RSS: idle ${(idleRss / MiB).toFixed(0)} MiB, with 100 open sessions ${(rss100 / MiB).toFixed(0)} MiB`);
  await redisL.close();
  await sinkL.close();
} finally {
  relays.redis.close();
  relays.sink.close();
  await stack.stop();
  sink.close();
}
process.exit(0);
