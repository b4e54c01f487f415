import { createHash, randomBytes } from 'node:crypto';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { once } from 'node:events';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConnectListener, type ConnectEvent, type ConnectListener } from '../src/index.js';

/*
 * A stand-in for the control plane's connect endpoint (same contract: bearer token, ready text
 * message, binary bytes, close codes) in front of the CLI's real listener and real TCP clients.
 */
let http: HttpServer;
let apiUrl: string;
const seen: { resource: string | null; authorization: string | undefined }[] = [];

function serve(ws: WebSocket, resource: string | null): void {
  switch (resource ?? '') {
    case 'echo':
      // Ready comes late, so the client's first bytes must wait in the pre-ready buffer.
      setTimeout(() => {
        ws.send(JSON.stringify({ type: 'ready', sessionId: 'sess-1' }));
        ws.on('message', (data: Buffer, isBinary) => {
          if (isBinary) ws.send(data, { binary: true });
        });
      }, 100);
      return;
    case 'denied':
      ws.close(4403, 'policy demo-deny forbids connect to denied');
      return;
    case 'offline':
      ws.close(4503, 'no agent online');
      return;
    case 'flaky':
      ws.send(JSON.stringify({ type: 'ready', sessionId: 'sess-2' }));
      ws.once('message', () => ws.close(4410, 'agent edge-1 disconnected'));
      return;
    default:
      ws.close(4404, `no resource named ${resource}`);
  }
}

beforeAll(async () => {
  http = createHttpServer();
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://x');
    seen.push({ resource: url.searchParams.get('resource'), authorization: request.headers.authorization });
    if (url.pathname !== '/api/v1/connect' || request.headers.authorization !== 'Bearer good-token') {
      socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"message":"token has expired"}');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => serve(ws, url.searchParams.get('resource')));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  http.closeAllConnections();
  await new Promise((resolve) => http.close(resolve));
});

async function withListener<T>(resource: string, token: string, fn: (l: ConnectListener, events: ConnectEvent[]) => Promise<T>, url = apiUrl): Promise<T> {
  const events: ConnectEvent[] = [];
  const listener = await startConnectListener({ apiUrl: url, token, resource, onEvent: (e) => events.push(e) });
  try {
    return await fn(listener, events);
  } finally {
    await listener.close();
  }
}

async function dial(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return socket;
}

function closedEvent(events: ConnectEvent[]) {
  return events.find((e): e is Extract<ConnectEvent, { type: 'closed' }> => e.type === 'closed');
}

describe('gw connect listener', () => {
  it('relays 8 MiB both ways, including bytes sent before the session was ready', async () => {
    await withListener('echo', 'good-token', async (listener, events) => {
      expect(listener.port).toBeGreaterThan(0);
      const socket = await dial(listener.port);
      const payload = randomBytes(8 * 1024 * 1024);
      const hash = createHash('sha256');
      let received = 0;
      const done = new Promise<void>((resolve) => {
        socket.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          received += chunk.length;
          if (received === payload.length) resolve();
        });
      });
      socket.write(payload);
      await done;
      expect(hash.digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
      expect(events.some((e) => e.type === 'ready' && e.sessionId === 'sess-1')).toBe(true);
      socket.end();
      await expect.poll(() => closedEvent(events)).toMatchObject({ failed: false, bytesUp: payload.length, bytesDown: payload.length });
      expect(seen.at(-1)).toEqual({ resource: 'echo', authorization: 'Bearer good-token' });
    });
  });

  it.each([
    ['denied', 4403, 'not allowed to connect to denied: policy demo-deny forbids connect to denied'],
    ['offline', 4503, 'resource offline is offline: no agent serves it right now: no agent online'],
    ['missing', 4404, 'unknown resource missing: no resource named missing'],
  ])('closes the local connection with a clear message for %s (%i)', async (resource, code, message) => {
    await withListener(resource, 'good-token', async (listener, events) => {
      const socket = await dial(listener.port);
      socket.on('error', () => undefined);
      await once(socket, 'close');
      expect(closedEvent(events)).toMatchObject({ code, message, failed: true });
    });
  });

  it('reports an agent lost mid-session and closes the local connection', async () => {
    await withListener('flaky', 'good-token', async (listener, events) => {
      const socket = await dial(listener.port);
      socket.on('error', () => undefined);
      socket.write('hello');
      await once(socket, 'close');
      expect(closedEvent(events)).toMatchObject({ code: 4410, message: 'the agent serving flaky went away mid-session: agent edge-1 disconnected' });
    });
  });

  it('maps a refused upgrade (HTTP 401) to the unauthenticated message', async () => {
    await withListener('echo', 'bad-token', async (listener, events) => {
      const socket = await dial(listener.port);
      socket.on('error', () => undefined);
      await once(socket, 'close');
      expect(closedEvent(events)).toMatchObject({ code: 4401, message: 'not authenticated: token has expired; run gw login' });
    });
  });

  it('says when the control plane is unreachable', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const deadPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    await withListener(
      'echo',
      'good-token',
      async (listener, events) => {
        const socket = await dial(listener.port);
        socket.on('error', () => undefined);
        await once(socket, 'close');
        expect(closedEvent(events)?.message).toBe('connection to the control plane failed or was lost: ECONNREFUSED');
      },
      `http://127.0.0.1:${deadPort}`,
    );
  });
});
