import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TunnelEndpoint } from '@gw/tunnel';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { Server, type Socket } from 'socket.io';

/**
 * A minimal stand-in for the control plane's agent hub: checks the handshake credential, answers
 * hello, and gives the test a control-plane-role tunnel endpoint per connected agent.
 */
export interface FakeControlPlane {
  url: string;
  agentId: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  hellos: unknown[];
  heartbeats: unknown[];
  handshakes: Record<string, unknown>[];
  /** Resolves with the endpoint of the next agent that completes hello. */
  nextAgent(): Promise<{ endpoint: TunnelEndpoint; socket: Socket }>;
  close(): Promise<void>;
}

export async function startFakeControlPlane(validCredential: string): Promise<FakeControlPlane> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const publicJwk = await exportJWK(publicKey);
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'], serveClient: false });
  const agents = io.of('/agents');
  const agentId = 'agent-0001';
  const hellos: unknown[] = [];
  const heartbeats: unknown[] = [];
  const handshakes: Record<string, unknown>[] = [];
  let waiters: ((value: { endpoint: TunnelEndpoint; socket: Socket }) => void)[] = [];

  agents.use((socket, next) => {
    const auth = socket.handshake.auth as Record<string, unknown>;
    handshakes.push(auth);
    if (auth.credential === validCredential) next();
    else if (auth.credential === 'gwa_revoked') next(Object.assign(new Error('agent credential revoked'), { data: { code: 'revoked' } }));
    else next(new Error('invalid agent credential'));
  });
  agents.on('connection', (socket) => {
    const endpoint = new TunnelEndpoint({
      role: 'control-plane',
      send: (frame) => socket.emit('f', frame),
      onClose: () => socket.disconnect(true),
    });
    // Tests open streams and drop the connection under them: a closed tunnel errors every open
    // stream, which must not become an uncaught exception of the test process.
    const openStream = endpoint.openStream.bind(endpoint);
    endpoint.openStream = async (h) => {
      const stream = await openStream(h);
      stream.on('error', () => undefined);
      return stream;
    };
    socket.on('f', (frame: Buffer) => endpoint.receive(frame));
    socket.on('disconnect', (reason) => endpoint.close(`agent disconnected: ${reason}`));
    socket.on('hb', (beat: unknown) => heartbeats.push(beat));
    socket.on('hello', (hello: unknown, ack: (value: unknown) => void) => {
      hellos.push(hello);
      ack({ ok: true, agentId, agentName: 'edge-test', grantPublicKey: publicJwk, policy: { version: 3, sha256: 'abc', text: 'permit' }, heartbeatIntervalMs: 1000 });
      const current = waiters;
      waiters = [];
      for (const w of current) w({ endpoint, socket });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    agentId,
    privateKey,
    publicJwk,
    hellos,
    heartbeats,
    handshakes,
    nextAgent: () => new Promise((resolve) => waiters.push(resolve)),
    close: async () => {
      await io.close();
    },
  };
}
