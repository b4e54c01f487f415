// Many edge agents in one process for bench/scale (the bench starts several such processes): each
// is the agent's real control connection (socket.io handshake with its own credential, hello,
// heartbeats, tunnel, session-grant checks) and the real fan-out to every replica; its one resource
// `echo-<i>` (type tcp) echoes the stream's bytes instead of dialing anything. Started by bench/scale/run.mjs (fork, IPC):
//   in:  { type: 'start', url, agents: [{ credential, resource }], refreshSeconds }
//   out: { type: 'status', agents, primaries, others, othersReady, fullyConnected }  (answer to { type: 'status' })
import pino from 'pino';
import { ControlChannel } from '../../apps/agent/dist/control-channel.js';
import { ReplicaFanout } from '../../apps/agent/dist/replica-fanout.js';
import { createStreamRouter, emptyCounters } from '../../apps/agent/dist/tunnel/stream-router.js';
import { GrantVerifierCache } from '../../apps/agent/dist/tunnel/grant-verifiers.js';
import { AGENT_VERSION } from '../../apps/agent/dist/version.js';

const log = pino({ level: 'silent' });
/**
 * The echo "resource": what a TCP resource would answer, without a socket per session. It takes its
 * stream as the real TCP wing does (a callback channel, `acceptSocket()`), with its backpressure.
 */
const echo = {
  type: 'tcp',
  open(ctx) {
    let socket;
    try {
      socket = ctx.acceptSocket();
    } catch {
      return;
    }
    socket.on('error', () => undefined);
    socket.on('data', (bytes) => {
      if (!socket.write(bytes)) {
        socket.pause();
        socket.once('drain', () => socket.resume());
      }
    });
    socket.on('end', () => socket.end());
  },
};
const handlers = new Map([['tcp', echo]]);
const agents = [];

function startOne(url, { credential, resource }, refreshSeconds) {
  const counters = emptyCounters();
  const catalogue = new Map([[resource, { name: resource, type: 'tcp', address: { host: '127.0.0.1', port: 9 }, labels: {} }]]);
  const verifiers = new GrantVerifierCache();
  const hello = { version: AGENT_VERSION, frameBatches: true, resources: [{ name: resource, type: 'tcp', labels: {} }] };
  const connect = (target) => {
    const channel = new ControlChannel({
      url: target,
      handshake: async () => ({ credential, version: AGENT_VERSION }),
      hello,
      onStream: createStreamRouter({ catalogue, handlers, counters, log, verifier: () => channel.session?.verifier }),
      openStreams: () => counters.openStreams,
      log,
      verifiers,
      onRevoked: () => undefined,
    });
    return channel;
  };
  const primary = connect(url);
  const fanout = new ReplicaFanout({ primary, connect, refreshMs: refreshSeconds * 1000, log });
  fanout.start();
  primary.start();
  agents.push({ primary, fanout });
}

process.on('message', (message) => {
  if (message.type === 'start') {
    for (const agent of message.agents) startOne(message.url, agent, message.refreshSeconds);
  } else if (message.type === 'status') {
    let primaries = 0;
    let others = 0;
    let othersReady = 0;
    let fullyConnected = 0;
    for (const a of agents) {
      const c = a.fanout.connections;
      if (a.primary.connected) primaries += 1;
      others += c.total;
      othersReady += c.ready;
      if (a.primary.connected && c.ready === message.replicas - 1 && c.total === c.ready) fullyConnected += 1;
    }
    process.send({ type: 'status', agents: agents.length, primaries, others, othersReady, fullyConnected });
  } else if (message.type === 'stop') {
    for (const a of agents) {
      a.fanout.stop('bench over');
      a.primary.stop('bench over');
    }
    setTimeout(() => process.exit(0), 200);
  }
});
