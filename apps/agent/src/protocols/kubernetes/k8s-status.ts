import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export type StatusReason = 'Forbidden' | 'BadRequest' | 'UnsupportedMediaType' | 'RequestEntityTooLarge' | 'ServiceUnavailable' | 'InternalError' | 'BadGateway';

/**
 * A Kubernetes `Status` failure, so kubectl prints `Error from server (Forbidden): <message>` and
 * client libraries raise their usual API error.
 */
export function statusJson(code: number, reason: StatusReason, message: string, details?: { name?: string; group?: string; kind?: string }): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code });
}

/**
 * The message again as a `Warning` header: kubectl prints those on stderr for every answer, also
 * for the discovery requests it makes first, whose Status it reports only as "unknown".
 */
export function warningHeader(message: string): string {
  const text = message.replace(/[^\x20-\x7e]/g, '?').slice(0, 1000).replace(/[\\"]/g, (c) => `\\${c}`);
  return `299 - "${text}"`;
}

/** `warn`: also as a Warning header, for refusals of discovery requests (kubectl shows those only as "unknown"). */
export function sendStatus(res: ServerResponse, code: number, reason: StatusReason, message: string, details?: { name?: string; group?: string; kind?: string }, warn = false): number {
  const body = statusJson(code, reason, message, details);
  if (res.headersSent) {
    res.destroy();
    return 0;
  }
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(warn ? { warning: warningHeader(message) } : {}) });
  res.end(body);
  return Buffer.byteLength(body);
}

/** The same answer on a connection that asked for an upgrade (exec, attach, port-forward). */
export function writeUpgradeRefusal(socket: Duplex, code: number, reason: StatusReason, message: string): void {
  const body = Buffer.from(statusJson(code, reason, message));
  const text = { 400: 'Bad Request', 403: 'Forbidden', 502: 'Bad Gateway', 503: 'Service Unavailable' }[code] ?? 'Error';
  socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 ${code} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`), body]));
}
