import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** Status reasons the endpoint itself answers with (the agent answers policy refusals). */
export type StatusReason = 'Unauthorized' | 'Forbidden' | 'NotFound' | 'ServiceUnavailable' | 'BadGateway' | 'InternalError' | 'BadRequest';

/**
 * A Kubernetes `Status` object: kubectl and client libraries print its message
 * (`error: You must be logged in to the server (Unauthorized)`, `Error from server (Forbidden): ...`).
 */
export function statusBody(code: number, reason: StatusReason, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

/**
 * The message again as a `Warning` header: kubectl prints those on stderr for every answer, also
 * for the discovery requests it makes first, whose Status it reports only as "unknown".
 */
export function warningHeader(message: string): string {
  const text = message.replace(/[^\x20-\x7e]/g, '?').slice(0, 1000).replace(/[\\"]/g, (c) => `\\${c}`);
  return `299 - "${text}"`;
}

export function sendStatus(res: ServerResponse, code: number, reason: StatusReason, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = statusBody(code, reason, message);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', warning: warningHeader(message) });
  res.end(body);
}

/** The same on a socket that has not been answered yet (an upgrade request). */
export function writeRawStatus(socket: Duplex, code: number, reason: StatusReason, message: string): void {
  const body = statusBody(code, reason, message);
  writeRawResponse(socket, code, reason, ['content-type', 'application/json'], Buffer.from(body));
}

/** An HTTP/1.1 response written by hand (after an upgrade attempt there is no ServerResponse). */
export function writeRawResponse(socket: Duplex, code: number, statusText: string, rawHeaders: readonly string[], body: Buffer): void {
  if (socket.destroyed) return;
  const lines = [`HTTP/1.1 ${code} ${statusText.replace(/[\r\n]/g, ' ')}`];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (name === 'content-length' || name === 'transfer-encoding' || name === 'connection') continue;
    lines.push(`${rawHeaders[i]}: ${rawHeaders[i + 1]}`);
  }
  lines.push(`content-length: ${body.length}`, 'connection: close', '', '');
  socket.end(Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), body]));
}
