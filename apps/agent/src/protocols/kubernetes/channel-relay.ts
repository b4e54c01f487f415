import { WebSocket, type RawData } from 'ws';
import type { PolicyDecision } from '@gw/policy';
import { CLIENT_HIGH_WATER, CLIENT_LOW_WATER, type ChannelClient } from './channel-client.js';
import type { K8sSession } from './kubernetes-handler.js';
import { recordedText } from './kubernetes-handler.js';
import { ChannelTextMasker } from '../output-masking/channel-text-masker.js';
import type { ResponseMasking } from './response-masking.js';

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const RESIZE = 4;

export interface RelayOptions {
  record: Record<string, unknown>;
  started: number;
  channels: boolean;
  tty: boolean;
  command: string[];
  container: string | undefined;
  decision: PolicyDecision;
  /** The event type of the closing record (`k8s.request`, or `k8s.portforward` for one forwarded connection). */
  recordAs?: string;
}

function closeCodeFor(code: number): number {
  // 1005/1006/1015 describe a close; they cannot be sent in one.
  return code === 1005 || code === 1006 || code === 1015 || code < 1000 || code >= 5000 ? 1000 : code;
}

/**
 * Joins a client's channels to the API server's WebSocket: messages both ways, backpressure both
 * ways, exec/attach channels recorded as a terminal (masked), output masked for the client too
 * without a terminal, and one closing record. Ends when either side or the gateway session ends.
 */
export function relayChannels(session: K8sSession, client: ChannelClient, upstream: WebSocket, maskingFor: (decision: PolicyDecision) => ResponseMasking | undefined, o: RelayOptions): void {
  const recorder = session.recorder;
  const masking = maskingFor(o.decision);
  const execChannel = Math.floor(Math.random() * 1_000_000);
  let recorded = 0;
  const limit = session.options.recordOutputLimitBytes;
  const t0 = Date.now();
  let bytesIn = 0;
  let bytesOut = 0;
  let toUpstream = 0;
  let clientPaused = false;
  let upstreamPaused = false;
  if (o.channels) {
    recorder.record('k8s.exec', {
      ...o.record,
      channel: execChannel,
      command: recordedText(session, masking, o.command.join(' ')),
      container: o.container ?? null,
      tty: o.tty,
      protocol: client.protocol,
      pty: { cols: 80, rows: 24 },
    });
  }
  const frame = (kind: 'o' | 'i' | 'r', data: string) => {
    if (recorded > limit) return;
    recorded += data.length;
    recorder.record('k8s.io', { channel: execChannel, frames: [[(Date.now() - t0) / 1000, kind, recorded > limit ? '[recording limit reached]' : data]] });
  };
  // With entity masking, each direction of the channel is masked as a stream (ChannelTextMasker): a
  // value cut between two messages is masked whole. Without a terminal the client gets the masked
  // output; a terminal's output reaches the client as it is (its control sequences must stay intact)
  // and only the recording is masked. Typed input is masked in the recording only.
  const streaming = masking?.masker.scansEntities ? masking.masker : undefined;
  const channelMaskers = new Map<number, ChannelTextMasker>();
  const channelMasker = (channel: number, release: (bytes: Buffer, text: string) => void): ChannelTextMasker => {
    let m = channelMaskers.get(channel);
    if (!m) {
      m = new ChannelTextMasker(streaming!, release);
      channelMaskers.set(channel, m);
    }
    return m;
  };
  /** Output of a channel without a terminal, released masked: to the client (with its channel byte) and to the recording. */
  const releaseOutput = (channel: number) => (bytes: Buffer, text: string) => {
    frame('o', text);
    const message = Buffer.concat([Buffer.from([channel]), bytes]);
    bytesOut += message.length;
    if (client.isOpen) client.send(message, true);
  };
  client.on('message', (buf: Buffer, isBinary: boolean) => {
    bytesIn += buf.length;
    if (o.channels && buf.length > 0) {
      if (buf[0] === STDIN) {
        if (streaming) channelMasker(STDIN, (_bytes, text) => frame('i', text)).write(buf.subarray(1));
        else frame('i', buf.subarray(1).toString('utf8'));
      } else if (buf[0] === RESIZE) {
        try {
          const size = JSON.parse(buf.subarray(1).toString('utf8')) as { Width?: number; Height?: number };
          frame('r', `${size.Width ?? 80}x${size.Height ?? 24}`);
        } catch {
          // not a resize message: relayed, not recorded
        }
      }
    }
    if (upstream.readyState !== WebSocket.OPEN) return;
    // Backpressure towards the API server: past the high-water mark the client is not read.
    toUpstream += buf.length;
    upstream.send(buf, { binary: isBinary }, () => {
      toUpstream -= buf.length;
      if (clientPaused && toUpstream < CLIENT_LOW_WATER) {
        clientPaused = false;
        client.resumeReading();
      }
    });
    if (!clientPaused && toUpstream > CLIENT_HIGH_WATER) {
      clientPaused = true;
      client.pauseReading();
    }
  });
  upstream.on('message', (data: RawData, isBinary: boolean) => {
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    // (An empty message on a channel, as a server may send when the channels open, is relayed as it is.)
    const output = o.channels && buf.length > 1 && (buf[0] === STDOUT || buf[0] === STDERR);
    if (output) {
      const channel = buf[0]!;
      if (!streaming) {
        frame('o', buf.subarray(1).toString('utf8'));
      } else if (o.tty) {
        channelMasker(channel, (_bytes, text) => frame('o', text)).write(buf.subarray(1));
      } else {
        // Released (masked) by the channel's masker, now or once the rest of a cut value is here.
        channelMasker(channel, releaseOutput(channel)).write(buf.subarray(1));
      }
    } else if (!o.tty) {
      // The exit status (channel 3) and anything else come after the output before them.
      for (const [channel, m] of channelMaskers) if (channel !== STDIN) m.flush();
    }
    if (!(output && streaming && !o.tty)) {
      bytesOut += buf.length;
      if (!client.isOpen) return;
      client.send(buf, isBinary);
    }
    // Backpressure towards the client: the API server is not read until the client has caught up.
    if (!upstreamPaused && client.congested) {
      upstreamPaused = true;
      upstream.pause();
      client.once('drain', () => {
        upstreamPaused = false;
        upstream.resume();
      });
    }
  });
  let ended = false;
  const end = (by: string, code: number, reason: string) => {
    if (ended) return;
    ended = true;
    // What the maskers still hold goes out (and into the recording) before the close.
    for (const m of channelMaskers.values()) m.close();
    if (client.isOpen) client.close(closeCodeFor(code), reason.slice(0, 120));
    if (upstream.readyState === WebSocket.OPEN) upstream.close(closeCodeFor(code), reason.slice(0, 120));
    setTimeout(() => {
      client.terminate();
      upstream.terminate();
    }, 1000).unref();
    recorder.record(o.recordAs ?? 'k8s.request', { ...o.record, status: 101, endedBy: by, durationMs: Date.now() - o.started, bytesIn, bytesOut, ...(o.channels ? { channel: execChannel } : {}) });
  };
  client.on('close', (code: number, reason: string) => end('client', code, reason));
  upstream.on('close', (code, reason) => end('cluster', code, reason.toString()));
  client.on('error', () => end('client', 1011, 'client error'));
  upstream.on('error', () => end('cluster', 1011, 'API server connection failed'));
  session.stream.once('close', () => end('gateway', 1001, 'the gateway session ended'));
  client.start();
}

