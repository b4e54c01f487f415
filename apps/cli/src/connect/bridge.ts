import type { Socket } from 'node:net';
import { CONNECT_CLOSE, type ConnectReady } from '@gw/contracts';
import WebSocket from 'ws';
import { DECLARED_PROCESS_HEADER, declaredProcessHeader } from '../acquire/declared-process.js';
import { closeCodeForHttpStatus, describeClose } from './close-codes.js';

/** Local bytes held before the server says ready; beyond this the local socket is paused. */
export const MAX_PRE_READY_BYTES = 1024 * 1024;
/** Pause the local socket while the WebSocket has more than this queued, resume below LOW. */
export const WS_HIGH_WATER = 1024 * 1024;
export const WS_LOW_WATER = 256 * 1024;
const DRAIN_POLL_MS = 5;
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const MAX_CONTROL_TEXT = 4096;
const HANDSHAKE_TIMEOUT_MS = 30_000;

export interface BridgeEnd {
  code: number;
  reason: string;
  message: string;
  /** Ended by a refusal or failure rather than a normal close. */
  failed: boolean;
  bytesUp: number;
  bytesDown: number;
}

export interface BridgeOptions {
  url: string;
  token: string;
  attestation?: string;
  resource: string;
  onReady: (sessionId: string) => void;
  onEnd: (end: BridgeEnd) => void;
}

/**
 * One local TCP connection <-> one WebSocket session. Backpressure both ways: a slow WebSocket
 * pauses the local socket (polled on bufferedAmount, ws has no 'drain'), a slow local reader
 * pauses the WebSocket until the socket drains.
 */
export function bridge(local: Socket, options: BridgeOptions): { close(): void } {
  const ws = new WebSocket(options.url, {
    headers: {
      authorization: `Bearer ${options.token}`,
      ...(options.attestation !== undefined ? { 'gateway-process-attestation': options.attestation } : {}),
      [DECLARED_PROCESS_HEADER]: declaredProcessHeader(),
    },
    perMessageDeflate: false,
    maxPayload: MAX_MESSAGE_BYTES,
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  });
  let ready = false;
  let ended = false;
  const early: Buffer[] = [];
  let earlyBytes = 0;
  let bytesUp = 0;
  let bytesDown = 0;
  let drainTimer: NodeJS.Timeout | undefined;

  const finish = (code: number, reason: string): void => {
    if (ended) return;
    ended = true;
    clearTimeout(drainTimer);
    if (code === CONNECT_CLOSE.normal) local.end();
    else local.destroy();
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
      if (ws.readyState === WebSocket.OPEN) ws.close(CONNECT_CLOSE.normal, 'client closed');
      else ws.terminate();
    }
    options.onEnd({ code, reason, message: describeClose(code, reason, options.resource), failed: code !== CONNECT_CLOSE.normal, bytesUp, bytesDown });
  };

  const sendUp = (chunk: Buffer): void => {
    bytesUp += chunk.length;
    ws.send(chunk, { binary: true });
    if (ws.bufferedAmount > WS_HIGH_WATER && !local.isPaused()) {
      local.pause();
      const poll = (): void => {
        if (ended) return;
        if (ws.bufferedAmount <= WS_LOW_WATER) local.resume();
        else drainTimer = setTimeout(poll, DRAIN_POLL_MS);
      };
      drainTimer = setTimeout(poll, DRAIN_POLL_MS);
    }
  };

  local.on('data', (chunk: Buffer) => {
    if (ended) return;
    if (!ready) {
      early.push(chunk);
      earlyBytes += chunk.length;
      if (earlyBytes >= MAX_PRE_READY_BYTES) local.pause();
      return;
    }
    sendUp(chunk);
  });
  local.on('end', () => finish(CONNECT_CLOSE.normal, 'local client closed'));
  local.on('error', () => finish(CONNECT_CLOSE.normal, 'local client connection failed'));
  local.on('close', () => finish(CONNECT_CLOSE.normal, 'local client closed'));
  local.on('drain', () => ws.resume());

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (ended) return;
    if (!ready) {
      const ready_ = !isBinary && data.length <= MAX_CONTROL_TEXT ? parseReady(data.toString('utf8')) : undefined;
      if (!ready_) {
        ws.close(CONNECT_CLOSE.internal, 'expected a ready message');
        finish(CONNECT_CLOSE.internal, 'the server did not send a ready message first');
        return;
      }
      ready = true;
      options.onReady(ready_.sessionId);
      for (const chunk of early.splice(0)) sendUp(chunk);
      earlyBytes = 0;
      if (local.isPaused() && ws.bufferedAmount <= WS_HIGH_WATER) local.resume();
      return;
    }
    if (!isBinary) return; // no text messages are defined after ready
    bytesDown += data.length;
    if (!local.write(data)) ws.pause();
  });
  ws.on('close', (code: number, reason: Buffer) => finish(code, reason.toString('utf8').slice(0, 500)));
  ws.on('unexpected-response', (_request, response) => {
    // Refused before the upgrade (plain HTTP): read a bounded reason, then map the status.
    let body = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      if (body.length < MAX_CONTROL_TEXT) body += chunk;
    });
    response.on('end', () => finish(closeCodeForHttpStatus(response.statusCode ?? 500), reasonFromBody(body)));
    response.on('error', () => finish(closeCodeForHttpStatus(response.statusCode ?? 500), ''));
  });
  ws.on('error', (error: NodeJS.ErrnoException) => {
    finish(1006, error.code ?? error.message);
  });

  return { close: () => finish(CONNECT_CLOSE.normal, 'listener closed') };
}

function parseReady(text: string): ConnectReady | undefined {
  try {
    const value = JSON.parse(text) as Partial<ConnectReady>;
    if (value.type === 'ready' && typeof value.sessionId === 'string' && value.sessionId.length <= 256) return value as ConnectReady;
  } catch {
    // not JSON
  }
  return undefined;
}

function reasonFromBody(body: string): string {
  try {
    const value = JSON.parse(body) as { message?: unknown };
    if (typeof value.message === 'string') return value.message.slice(0, 500);
  } catch {
    // not JSON
  }
  return body.slice(0, 200);
}
