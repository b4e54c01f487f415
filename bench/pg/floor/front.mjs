// The floor's "control plane": accepts Postgres clients (SSLRequest, then TLS), relays their bytes to the
// "agent" over one WebSocket it accepted from it, and nothing else: no parsing, no policy, no recording.
//   node front.mjs <client port> <ws port> <cert.pem> <key.pem>
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { TLSSocket, createSecureContext } from 'node:tls';
import { createRequire } from 'node:module';
import { createBatcher, splitBatch } from './mux.mjs';

const require = createRequire(new URL('../../../apps/control-plane/package.json', import.meta.url));
const { WebSocketServer } = require('ws');
const [clientPort, wsPort, certFile, keyFile] = process.argv.slice(2);
const context = createSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
const clients = new Map();
let nextId = 1;
let agent;
let sendFrame;

new WebSocketServer({ host: '127.0.0.1', port: Number(wsPort), perMessageDeflate: false }).on('connection', (ws) => {
  agent = ws;
  sendFrame = createBatcher((batch) => ws.send(batch));
  ws.on('message', (batch) => splitBatch(batch, (id, bytes) => {
    const client = clients.get(id);
    if (!client) return;
    if (bytes.length === 0) client.end(); else client.write(bytes);
  }));
  process.send?.('ready');
});

createServer((raw) => {
  raw.setNoDelay(true);
  raw.once('data', (first) => {
    // SSLRequest (8 bytes, code 80877103): answer 'S' and go on in TLS; anything else is relayed as is.
    const isSslRequest = first.length === 8 && first.readUInt32BE(4) === 80877103;
    const socket = isSslRequest ? new TLSSocket(raw, { isServer: true, secureContext: context }) : raw;
    if (isSslRequest) raw.write('S');
    const id = nextId++;
    clients.set(id, socket);
    if (!isSslRequest) sendFrame(id, first);
    socket.on('data', (bytes) => sendFrame(id, bytes));
    socket.on('close', () => { clients.delete(id); sendFrame(id, Buffer.alloc(0)); });
    socket.on('error', () => {});
  });
}).listen(Number(clientPort), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
