// The floor's "agent" on the gateway's own transport (socket.io client, @gw/tunnel channels), relaying
// each stream to Postgres over TCP; no inspection.
//   node back-tunnel.mjs <ws url> <postgres port>
import { connect } from 'node:net';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../../apps/agent/package.json', import.meta.url));
const { io } = require('socket.io-client');
const { SocketIoTunnelLink, rawEventParser } = await import(require.resolve('@gw/tunnel'));
const [url, pgPort] = process.argv.slice(2);
const socket = io(url, { transports: ['websocket'], parser: rawEventParser('fs') });
socket.on('connect', () => {
  const link = new SocketIoTunnelLink(socket, {
    role: 'agent', events: { frame: 'f', frames: 'fs' }, batches: true, keepalive: false,
    onStream: (_header, _accept, _reject, { acceptChannel }) => {
      const channel = acceptChannel();
      const upstream = connect({ host: '127.0.0.1', port: Number(pgPort), noDelay: true });
      channel.attach({
        data: (bytes) => { if (!upstream.write(bytes)) { channel.pause(); upstream.once('drain', () => channel.resume()); } },
        end: () => upstream.end(),
        drain: () => upstream.resume(),
        close: () => upstream.destroy(),
      });
      upstream.on('data', (bytes) => { if (!channel.send(bytes)) upstream.pause(); });
      upstream.on('close', () => channel.end());
      upstream.on('error', () => {});
    },
  });
  void link;
});
process.on('SIGTERM', () => process.exit(0));
