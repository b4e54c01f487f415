import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TunnelClosedError, TunnelEndpoint } from '../src/index.js';
import { digestStream, writeGenerated } from './support/bytes.js';

/*
 * The tunnel wired to a real socket.io server and client over 127.0.0.1, WebSocket only,
 * exactly as the apps do it: one socket.io message ('f') per frame.
 */

const httpServer = createServer();
const io = new Server(httpServer, { transports: ['websocket'], serveClient: false });
const agentNamespace = io.of('/agents');
let controlPlane: Promise<TunnelEndpoint>;
let agent: TunnelEndpoint;
let client: ReturnType<typeof connect>;

beforeAll(async () => {
  controlPlane = new Promise((resolve) => {
    agentNamespace.on('connection', (socket) => {
      const endpoint = new TunnelEndpoint({
        role: 'control-plane',
        send: (frame) => socket.emit('f', frame),
        onClose: () => socket.disconnect(true),
        keepalive: { intervalMs: 200, timeoutMs: 2000 },
      });
      socket.on('f', (frame: Buffer) => endpoint.receive(frame));
      socket.on('disconnect', (reason) => endpoint.close(`agent socket disconnected: ${reason}`));
      resolve(endpoint);
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;

  client = connect(`http://127.0.0.1:${port}/agents`, { transports: ['websocket'], reconnection: false });
  agent = new TunnelEndpoint({
    role: 'agent',
    send: (frame) => client.emit('f', frame),
    keepalive: { intervalMs: 200, timeoutMs: 2000 },
    onStream: (header, accept, reject) => {
      if (header.resource !== 'echo') {
        reject('RESOURCE_UNKNOWN', `no resource named ${header.resource}`);
        return;
      }
      const stream = accept();
      stream.on('error', () => undefined);
      stream.pipe(stream);
    },
  });
  client.on('f', (frame: ArrayBuffer | Buffer) => agent.receive(frame instanceof ArrayBuffer ? new Uint8Array(frame) : frame));
  client.on('disconnect', (reason) => agent.close(`control plane socket disconnected: ${reason}`));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('connect_error', reject);
  });
});

afterAll(async () => {
  client.disconnect();
  await io.close();
});

describe('tunnel over a real socket.io connection', () => {
  it('carries 20 MiB on 5 concurrent streams with matching checksums', async () => {
    const cp = await controlPlane;
    const perStream = 4 * 1024 * 1024;
    const results = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const stream = await cp.openStream({ grant: 'g', resource: 'echo', protocol: 'tcp', client: {} });
        const received = digestStream(stream);
        const sent = await writeGenerated(stream, perStream, 100 + i, 48 * 1024);
        return { sent, received: await received };
      }),
    );
    for (const r of results) expect(r.received).toEqual({ sha256: r.sent, bytes: perStream });
    const stats = cp.stats();
    expect(stats.violations).toBe(0);
    expect(stats.bytesOut).toBeGreaterThan(20 * 1024 * 1024);
    expect(agent.stats().violations).toBe(0);
  }, 60_000);

  it("surfaces the agent's refusal", async () => {
    const cp = await controlPlane;
    await expect(cp.openStream({ grant: 'g', resource: 'missing', protocol: 'tcp', client: {} })).rejects.toMatchObject({
      codeName: 'RESOURCE_UNKNOWN',
      reason: 'no resource named missing',
    });
  });

  it('tears down open streams on both sides when the socket drops', async () => {
    const cp = await controlPlane;
    const stream = await cp.openStream({ grant: 'g', resource: 'echo', protocol: 'tcp', client: {} });
    const failed = new Promise<Error>((resolve) => stream.once('error', resolve));
    client.disconnect();
    const error = await failed;
    expect(error).toBeInstanceOf(TunnelClosedError);
    expect(error.message).toMatch(/disconnected/);
    expect(agent.closed).toBe(true);
    expect(cp.stats().openStreams).toBe(0);
  });
});
