import type { TunnelChannel } from '@gw/tunnel';
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
 * Relays a client WebSocket and a tunnel channel into each other with backpressure both ways: the
 * channel is paused (no credit goes back to the agent) while the socket's send buffer is above the
 * high-water mark, and the socket is paused while the channel queues bytes beyond the agent's credit.
 */
export function bridge(ws: WebSocket, channel: TunnelChannel): Promise<BridgeResult> {
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
      if (ws.bufferedAmount <= WS_HIGH_WATER / 2) channel.resume();
      else setTimeout(resumeWhenDrained, 5).unref();
    };
    channel.attach({
      data: (bytes) => {
        bytesOut += bytes.length;
        ws.send(bytes, { binary: true });
        if (ws.bufferedAmount > WS_HIGH_WATER) {
          channel.pause();
          resumeWhenDrained();
        }
      },
      end: () => finish('resource'),
      drain: () => ws.resume(),
      close: (error) => finish('error', error),
    });

    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return; // control text from the client is not part of the byte stream
      bytesIn += data.length;
      if (!channel.send(data)) ws.pause();
    });
    ws.on('close', () => finish('client'));
    ws.on('error', (error: Error) => finish('error', error));
  });
}
