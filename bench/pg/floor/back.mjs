// The floor's "agent": dials the front over a WebSocket and relays each stream to Postgres over TCP,
// with nothing else: no parsing, no policy, no masking, no recording.
//   node back.mjs <ws url> <postgres port>
import { connect } from 'node:net';
import { createRequire } from 'node:module';
import { createBatcher, splitBatch } from './mux.mjs';

const require = createRequire(new URL('../../../apps/agent/package.json', import.meta.url));
const WebSocket = require('ws');
const [url, pgPort] = process.argv.slice(2);
const upstreams = new Map();
const ws = new WebSocket(url, { perMessageDeflate: false });
const sendFrame = createBatcher((batch) => ws.send(batch));
ws.on('message', (batch) => splitBatch(batch, (id, bytes) => {
  let upstream = upstreams.get(id);
  if (!upstream) {
    if (bytes.length === 0) return;
    upstream = connect({ host: '127.0.0.1', port: Number(pgPort), noDelay: true });
    upstreams.set(id, upstream);
    upstream.on('data', (answer) => sendFrame(id, answer));
    upstream.on('close', () => { upstreams.delete(id); });
    upstream.on('error', () => {});
  }
  if (bytes.length === 0) upstream.end(); else upstream.write(bytes);
}));
process.on('SIGTERM', () => process.exit(0));
