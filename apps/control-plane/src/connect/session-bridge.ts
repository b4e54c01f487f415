import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/** Bytes the WebSocket may hold unsent before we stop reading from the tunnel stream. */
const WS_HIGH_WATER = 1024 * 1024;

export interface BridgeResult {
  bytesIn: number;
  bytesOut: number;
  /** Who ended it: the client, the resource side, or an error on either. */
  endedBy: 'client' | 'resource' | 'error';
  error?: Error;
  /** The agent refused the session before it started (e.g. a privileged database role): audited as a refused connect. */
  refusedAtStartup?: { code: string; message: string };
}

/**
 * Pipes a client WebSocket and a tunnel stream into each other with backpressure both ways:
 * the stream is paused while the socket's send buffer is above the high-water mark, and the
 * socket is paused while the stream's write buffer is full.
 */
export function bridge(ws: WebSocket, stream: Duplex): Promise<BridgeResult> {
  return new Promise((resolve) => {
    let bytesIn = 0;
    let bytesOut = 0;
    let done = false;
    const finish = (endedBy: BridgeResult['endedBy'], error?: Error) => {
      if (done) return;
      done = true;
      resolve({ bytesIn, bytesOut, endedBy, error });
    };

    const resumeWhenDrained = () => {
      if (ws.bufferedAmount <= WS_HIGH_WATER / 2) stream.resume();
      else setTimeout(resumeWhenDrained, 5).unref();
    };
    stream.on('data', (chunk: Buffer) => {
      bytesOut += chunk.length;
      ws.send(chunk, { binary: true });
      if (ws.bufferedAmount > WS_HIGH_WATER) {
        stream.pause();
        resumeWhenDrained();
      }
    });
    stream.on('end', () => {
      finish('resource');
    });
    stream.on('error', (error: Error) => finish('error', error));
    stream.on('close', () => finish('resource'));

    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return; // control text from the client is not part of the byte stream
      bytesIn += data.length;
      if (!stream.write(data)) {
        ws.pause();
        stream.once('drain', () => ws.resume());
      }
    });
    ws.on('close', () => finish('client'));
    ws.on('error', (error: Error) => finish('error', error));
  });
}
