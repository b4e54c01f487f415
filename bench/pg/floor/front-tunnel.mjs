// The floor's "control plane" on the gateway's own transport: socket.io with the raw frame-batch parser
// and @gw/tunnel channels (frames, credits, batches), as apps/control-plane uses them; no inspection.
//   node front-tunnel.mjs <client port> <ws port> <cert.pem> <key.pem>
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { TLSSocket, createSecureContext } from 'node:tls';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../../apps/control-plane/package.json', import.meta.url));
const { Server } = require('socket.io');
const { SocketIoTunnelLink, rawEventParser } = await import(require.resolve('@gw/tunnel'));
const [clientPort, wsPort, certFile, keyFile] = process.argv.slice(2);
const context = createSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
let endpoint;

const http = createHttpServer();
new Server(http, { transports: ['websocket'], parser: rawEventParser('fs'), serveClient: false }).on('connection', (socket) => {
  endpoint = new SocketIoTunnelLink(socket, { role: 'control-plane', events: { frame: 'f', frames: 'fs' }, batches: true, keepalive: false }).endpoint;
  process.send?.('ready');
});
http.listen(Number(wsPort), '127.0.0.1');

createServer((raw) => {
  raw.setNoDelay(true);
  raw.once('data', async (first) => {
    const isSslRequest = first.length === 8 && first.readUInt32BE(4) === 80877103;
    const socket = isSslRequest ? new TLSSocket(raw, { isServer: true, secureContext: context }) : raw;
    if (isSslRequest) raw.write('S');
    socket.pause();
    const channel = await endpoint.openChannel({ grant: 'floor', resource: 'pg', protocol: 'postgres' });
    channel.attach({
      data: (bytes) => { if (!socket.write(bytes)) { channel.pause(); socket.once('drain', () => channel.resume()); } },
      end: () => socket.end(),
      drain: () => socket.resume(),
      close: () => socket.destroy(),
    });
    if (!isSslRequest) channel.send(first);
    socket.on('data', (bytes) => { if (!channel.send(bytes)) socket.pause(); });
    socket.on('close', () => channel.end());
    socket.on('error', () => {});
    socket.resume();
  });
}).listen(Number(clientPort), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
