import { createServer, type Socket } from 'node:net';
import { CONNECT_PATH } from '@gw/contracts';
import { CliError } from '../errors.js';
import { bridge, type BridgeEnd } from './bridge.js';

export const MAX_LOCAL_CONNECTIONS = 256;

export type ConnectEvent =
  | { type: 'connection'; id: number; remote: string }
  | { type: 'ready'; id: number; sessionId: string }
  | ({ type: 'closed'; id: number } & BridgeEnd)
  | { type: 'refused'; remote: string; reason: string };

export interface ConnectListenerOptions {
  apiUrl: string;
  token: string;
  /** A process attestation sent beside the token (header Gateway-Process-Attestation). */
  attestation?: string;
  resource: string;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  onEvent?: (event: ConnectEvent) => void;
}

export interface ConnectListener {
  port: number;
  host: string;
  close(): Promise<void>;
}

export function connectUrl(apiUrl: string, resource: string): string {
  const url = new URL(CONNECT_PATH, apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('resource', resource);
  return url.toString();
}

/** A local TCP port where every accepted connection becomes its own gateway session. */
export async function startConnectListener(options: ConnectListenerOptions): Promise<ConnectListener> {
  const { resource } = options;
  if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(resource)) throw new CliError(`invalid resource name: ${resource}`);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`invalid port: ${String(options.port)}`);
  const host = options.host ?? '127.0.0.1';
  const url = connectUrl(options.apiUrl, resource);
  const emit = options.onEvent ?? (() => undefined);
  const active = new Map<Socket, { close(): void }>();
  let nextId = 1;

  const server = createServer((local) => {
    const remote = `${local.remoteAddress ?? '?'}:${local.remotePort ?? '?'}`;
    if (active.size >= MAX_LOCAL_CONNECTIONS) {
      emit({ type: 'refused', remote, reason: `more than ${MAX_LOCAL_CONNECTIONS} connections at once` });
      local.destroy();
      return;
    }
    const id = nextId++;
    local.setNoDelay(true);
    emit({ type: 'connection', id, remote });
    const session = bridge(local, {
      url,
      token: options.token,
      ...(options.attestation !== undefined ? { attestation: options.attestation } : {}),
      resource,
      onReady: (sessionId) => emit({ type: 'ready', id, sessionId }),
      onEnd: (end) => {
        active.delete(local);
        emit({ type: 'closed', id, ...end });
      },
    });
    active.set(local, session);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new CliError(error.code === 'EADDRINUSE' ? `${host}:${port} is already in use; pick another --port` : `cannot listen on ${host}:${port}: ${error.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;

  return {
    port: boundPort,
    host,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of active.values()) session.close();
        server.close(() => resolve());
      }),
  };
}
