// Chains of plain TCP relays with nothing on them: the anchor for a path of several processes.
// The gateway's paths have several hops (gw connect -> control plane -> agent for TCP, control plane
// -> agent for MySQL), each a process that reads and writes every message; a chain of as many relays
// that do nothing else shows what that many hops reach at best on this machine, next to the one
// plain relay (socat) the issues judge against.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { freePort, waitFor } from './stack.mjs';

/** Whether something accepts connections on `port`. */
const accepts = (port) => new Promise((r) => { const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); }).once('error', () => r(false)); });

/**
 * `hops` relays in a row in front of `target`, each `socat` (a process per connection, as the single
 * socat relay of the benches) or `node` (bench/support/tcp-relay.mjs, one process for all connections).
 * Resolves with the port of the first and close().
 */
export async function relayChain(kind, target, hops) {
  const children = [];
  let next = target;
  for (let i = 0; i < hops; i++) {
    const port = await freePort();
    const child = kind === 'socat'
      ? spawn('socat', [`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `TCP:127.0.0.1:${next}`], { stdio: 'ignore' })
      : spawn(process.execPath, [new URL('./tcp-relay.mjs', import.meta.url).pathname, String(port), String(next)], { stdio: 'ignore' });
    children.push(child);
    await waitFor(`relay on ${port}`, () => accepts(port), 10_000);
    next = port;
  }
  return { port: next, close: () => { for (const child of children) child.kill('SIGTERM'); } };
}
