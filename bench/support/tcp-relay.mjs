// A bare TCP relay in Node: every connection to <listen port> is piped to <target port>, nothing read,
// nothing decided. One hop of the relay chains that anchor the tunnel and MySQL benchmarks.
//   node bench/support/tcp-relay.mjs <listen port> <target port>
import net from 'node:net';

const [listen, target] = process.argv.slice(2).map(Number);
net.createServer({ noDelay: true }, (client) => {
  const upstream = net.connect({ host: '127.0.0.1', port: target, noDelay: true });
  client.pipe(upstream).on('error', () => client.destroy());
  upstream.pipe(client).on('error', () => upstream.destroy());
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
}).listen(listen, '127.0.0.1', () => process.send?.('ready'));
process.on('SIGTERM', () => process.exit(0));
