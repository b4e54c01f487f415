import type { IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import type { K8sSession } from './kubernetes-handler.js';
import { upstreamHeaders } from './kubernetes-handler.js';

/** Largest WebSocket message relayed (kubectl sends at most 32 KiB of stdin at a time). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export type UpstreamDial = { ws: WebSocket } | { refusal: Buffer; status: number };

/**
 * The agent's own WebSocket to the API server for an upgrade: the session's credential, never the
 * client's, and the channel subprotocols given. An API server that answers without upgrading (no
 * such pod, a bad container) comes back as its HTTP answer, to hand to the client as it is.
 */
export function dialUpstream(session: K8sSession, req: IncomingMessage, protocols: string[], path = req.url ?? '/'): Promise<UpstreamDial> {
  const { auth, resource } = session;
  const headers = upstreamHeaders(req.headers, auth, false);
  for (const name of Object.keys(headers)) if (name.startsWith('sec-websocket-') || name === 'x-stream-protocol-version') delete headers[name];
  const host = resource.address.host.includes(':') ? `[${resource.address.host}]` : resource.address.host;
  const ws = new WebSocket(`wss://${host}:${resource.address.port}${path}`, protocols, {
    headers: headers as Record<string, string>,
    ca: auth.ca,
    ...(auth.servername ? { servername: auth.servername } : {}),
    ...(auth.cert ? { cert: auth.cert, key: auth.key } : {}),
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    handshakeTimeout: 15_000,
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_request, response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => {
        const body = Buffer.concat(chunks).subarray(0, 64 * 1024);
        const head = `HTTP/1.1 ${response.statusCode ?? 502} ${response.statusMessage ?? ''}\r\ncontent-type: ${response.headers['content-type'] ?? 'application/json'}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`;
        resolve({ refusal: Buffer.concat([Buffer.from(head), body]), status: response.statusCode ?? 502 });
      });
    });
    ws.once('error', (error: Error & { code?: string }) => reject(new Error(`the API server of ${resource.name} could not be reached (${error.code ?? error.message})`)));
  });
}

/** The message of the Status in an API server's refusal, or its body as text. */
export function refusalMessage(refusal: Buffer): string {
  const body = refusal.subarray(refusal.indexOf('\r\n\r\n') + 4).toString('utf8');
  try {
    const status = JSON.parse(body) as { message?: unknown };
    if (typeof status.message === 'string') return status.message;
  } catch {
    // not a Status: the text itself
  }
  return body.slice(0, 500);
}

