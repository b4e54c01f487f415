// What the tunnel's transport costs per round trip, in one process over loopback: the control plane
// end and the agent end of a tunnel, K streams each sending 100-byte requests that the agent end echoes.
//   (a) socket.io, as the apps run it (raw-event parser, frame batches);
//   (b) a plain WebSocket (ws) carrying the same frame batches, one binary message per batch.
// Prints CPU µs per round trip (both ends together) and round trips per second.
//   npm run build && node bench/tunnel/transport.mjs   (BENCH_ROUNDS=20000, BENCH_STREAMS=1,8,32)
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { io as connect } from 'socket.io-client';
import { WebSocketServer, WebSocket } from 'ws';
import { FrameCoalescer, SocketIoTunnelLink, TunnelEndpoint, rawEventParser } from '@gw/tunnel';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20000);
const STREAMS = (process.env.BENCH_STREAMS ?? '1,8,32').split(',').map(Number);
const echo = (header, accept) => {
  const stream = accept();
  stream.on('error', () => undefined);
  stream.on('data', (chunk) => stream.write(chunk));
};
const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));

async function socketIoPair() {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'], serveClient: false, parser: rawEventParser('fs') });
  const port = await listen(http);
  const cpReady = new Promise((resolve) => io.of('/agents').on('connection', (socket) => {
    resolve(new SocketIoTunnelLink(socket, { role: 'control-plane', events: { frame: 'f', frames: 'fs' }, batches: true, keepalive: false }).endpoint);
  }));
  const client = connect(`http://127.0.0.1:${port}/agents`, { transports: ['websocket'], reconnection: false, parser: rawEventParser('fs') });
  new SocketIoTunnelLink(client, { role: 'agent', events: { frame: 'f', frames: 'fs' }, batches: true, keepalive: false, onStream: echo });
  const cp = await cpReady;
  return { cp, close: () => { client.disconnect(); io.close(); } };
}

async function wsPair() {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  const port = await listen(http);
  const cpReady = new Promise((resolve) => wss.on('connection', (socket) => {
    const out = new FrameCoalescer((batch) => socket.send(batch));
    const cp = new TunnelEndpoint({ role: 'control-plane', send: out.send, keepalive: false });
    socket.on('message', (data) => cp.receiveBatch(data));
    resolve(cp);
  }));
  const client = new WebSocket(`ws://127.0.0.1:${port}/`);
  const out = new FrameCoalescer((batch) => client.send(batch));
  const agent = new TunnelEndpoint({ role: 'agent', send: out.send, keepalive: false, onStream: echo });
  client.on('message', (data) => agent.receiveBatch(data));
  const cp = await cpReady;
  return { cp, close: () => { client.close(); wss.close(); http.close(); } };
}

async function measure(cp, streams) {
  const per = Math.ceil(ROUNDS / streams);
  const request = Buffer.alloc(100, 7);
  const opened = await Promise.all(Array.from({ length: streams }, () => cp.openStream({ grant: 'g', resource: 'echo', protocol: 'tcp', client: {} })));
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(opened.map((stream) => new Promise((resolve) => {
    let left = per;
    stream.on('data', () => (--left === 0 ? resolve() : stream.write(request)));
    stream.write(request);
  })));
  const cpu = process.cpuUsage(cpu0);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  for (const s of opened) s.destroy();
  return { cpuUs: (cpu.user + cpu.system) / (per * streams), rps: (per * streams) / seconds };
}

console.log('tunnel transport, both ends in one process over loopback: CPU µs per 100-byte round trip (both ends), round trips/s');
for (const [name, make] of [['socket.io', socketIoPair], ['ws', wsPair]]) {
  const pair = await make();
  await measure(pair.cp, 4); // warm-up
  for (const streams of STREAMS) {
    const r = await measure(pair.cp, streams);
    console.log(`${name.padEnd(10)} streams ${String(streams).padStart(3)}: ${r.cpuUs.toFixed(1).padStart(7)} µs CPU/round trip ${r.rps.toFixed(0).padStart(8)} round trips/s`);
  }
  pair.close();
}
process.exit(0);
