// Tunnel benchmark: redis-benchmark and raw throughput through gw connect -> control plane ->
// agent, against a direct connection and a plain TCP relay (socat) in the same run; plus agent memory
// idle and with 100 sessions. The anchor for the three hops: chains of three relays that do nothing
// else (three socats, three bare Node relays), what any three-process path reaches here at best.
//   npm run build && node bench/tunnel/run.mjs
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import net from 'node:net';
import { startConnectListener } from '../../apps/cli/dist/index.js';
import { rssOf, startBenchStack } from '../support/stack.mjs';
import { relayChain } from '../support/relay-chain.mjs';

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

const sink = await sinkServer();
const relays = { redis: await relayChain('socat', 6379, 1), sink: await relayChain('socat', sink.port, 1) };
const chains = { socat: await relayChain('socat', 6379, 3), node: await relayChain('node', 6379, 3) };
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
  const socat3 = await redisBench(chains.socat.port);
  const node3 = await redisBench(chains.node.port);
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

  console.log('\nredis-benchmark -c 8 -n 20000 (requests/s; latency ms). Anchor: three relays in a chain that do nothing else (3×socat, 3×node), the hops of gw connect -> control plane -> agent.');
  console.log('test       direct    socat  3×socat   3×node   tunnel  /direct  /socat  3×socat/socat  3×node/socat   socat p50/p99   tunnel p50/p99');
  for (const t of Object.keys(direct)) {
    const [d, r, s3, n3, g] = [direct[t], relay[t], socat3[t], node3[t], tunnel[t]];
    const rps = (x) => x.rps.toFixed(0).padStart(8);
    console.log(`${t.padEnd(10)} ${rps(d)} ${rps(r)} ${rps(s3)} ${rps(n3)} ${rps(g)}  ${(g.rps / d.rps).toFixed(2).padStart(7)} ${(g.rps / r.rps).toFixed(2).padStart(7)} ${(s3.rps / r.rps).toFixed(2).padStart(14)} ${(n3.rps / r.rps).toFixed(2).padStart(13)}   ${r.p50.toFixed(3)}/${r.p99.toFixed(3)}     ${g.p50.toFixed(3)}/${g.p99.toFixed(3)}`);
  }
  console.log(`\nthroughput, 512 MiB one way: direct ${directMBs.toFixed(0)} MiB/s, socat ${relayMBs.toFixed(0)} MiB/s, tunnel ${tunnelMBs.toFixed(0)} MiB/s; tunnel/direct ${(tunnelMBs / directMBs).toFixed(2)}, tunnel/socat ${(tunnelMBs / relayMBs).toFixed(2)}`);
  console.log(`agent RSS: idle ${(idleRss / MiB).toFixed(0)} MiB, with 100 open sessions ${(rss100 / MiB).toFixed(0)} MiB`);
  await redisL.close();
  await sinkL.close();
} finally {
  for (const relay of [relays.redis, relays.sink, chains.socat, chains.node]) relay.close();
  await stack.stop();
  sink.close();
}
process.exit(0);
