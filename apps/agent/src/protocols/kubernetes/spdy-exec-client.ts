import { EventEmitter } from 'node:events';
import { RstStatus, type SpdyStream } from '@gw/protocol-spdy';
import type { ChannelClient } from './channel-client.js';
import type { SpdyTransport } from './spdy-transport.js';
import { queryBool } from './request-attributes.js';

/** Channel protocols kubectl negotiates over SPDY whose error stream carries a JSON Status (what the upstream sends). */
export const SPDY_EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
/** How long kubectl gets to open its streams after the upgrade (the kubelet waits as long). */
const STREAM_CREATION_TIMEOUT_MS = 30_000;

const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4 } as const;
type StreamType = keyof typeof CHANNEL;
/** v5's close signal: channel 255, then the channel that is done (stdin). */
const CLOSE_SIGNAL = 255;

/** Which streams the exec or attach request asks for (its query), as the kubelet reads them. */
export interface ExecStreamsWanted {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export function execStreamsWanted(query: URLSearchParams): ExecStreamsWanted {
  // As the API server reads them: `stdout=yes` opens stdout there too.
  const flag = (name: string) => queryBool(query.get(name));
  return { stdin: flag('stdin'), stdout: flag('stdout'), stderr: flag('stderr'), tty: flag('tty') };
}

/**
 * kubectl's SPDY exec or attach as channel messages. kubectl opens one stream per channel, named
 * by its `streamType` header (error, stdin, stdout, stderr, resize); stdin becomes channel 0,
 * resize (newline-separated JSON) channel 4, and what the relay sends on channels 1-3 is written
 * to the matching stream. Without stderr (a terminal) stderr goes to stdout, so a hold notice
 * still reaches the user. When stdin ends (kubectl half-closes it), a v5 upstream is told with
 * the close signal; v4 has none. `close()` ends every stream (kubectl waits for that) and the connection.
 */
export class SpdyExecClient extends EventEmitter implements ChannelClient {
  /** The channel protocol spoken to the API server (set before relaying); v5 carries stdin's end. */
  upstreamProtocol = '';
  readonly ready: Promise<void>;
  private readonly streams = new Map<StreamType, SpdyStream>();
  private transport: SpdyTransport | undefined;
  private closing = false;
  private resizeText = '';
  private started = false;
  private markReady!: () => void;
  private failReady!: (error: Error) => void;

  constructor(
    readonly protocol: string,
    private readonly wanted: ExecStreamsWanted,
  ) {
    super();
    this.ready = new Promise((resolve, reject) => {
      this.markReady = resolve;
      this.failReady = reject;
    });
    this.ready.catch(() => undefined);
  }

  attach(transport: SpdyTransport): void {
    this.transport = transport;
    const timer = setTimeout(() => {
      this.failReady(new Error(`the client did not open its streams within ${STREAM_CREATION_TIMEOUT_MS / 1000} s`));
      transport.destroy();
    }, STREAM_CREATION_TIMEOUT_MS);
    timer.unref();
    void this.ready.then(() => clearTimeout(timer), () => clearTimeout(timer));
    transport.onClose(() => {
      clearTimeout(timer);
      this.failReady(new Error('the client closed the connection before opening its streams'));
      this.emit('close', 1000, '');
    });
  }

  /** A stream kubectl opened. */
  addStream(stream: SpdyStream): void {
    const type = stream.header('streamtype') as StreamType | undefined;
    if (type === undefined || !Object.hasOwn(CHANNEL, type) || this.streams.has(type)) {
      stream.reset(RstStatus.REFUSED_STREAM);
      return;
    }
    stream.reply();
    this.streams.set(type, stream);
    // What kubectl types before the relay listens (during a hold, say) waits in the stream.
    if (!this.started) stream.pause();
    stream.setReceiver({
      data: (chunk) => this.fromClient(type, chunk),
      end: () => {
        if (type === 'stdin' && this.upstreamProtocol === 'v5.channel.k8s.io') this.emit('message', Buffer.from([CLOSE_SIGNAL, CHANNEL.stdin]), true);
      },
      reset: () => undefined,
    });
    if (this.hasWantedStreams()) this.markReady();
  }

  get isOpen(): boolean {
    return !this.closing && this.transport !== undefined && !this.transport.closed;
  }

  send(message: Buffer): void {
    if (!this.isOpen || message.length === 0) return;
    const channel = message[0];
    const target = channel === CHANNEL.stdout ? this.streams.get('stdout')
      : channel === CHANNEL.stderr ? this.streams.get('stderr') ?? this.streams.get('stdout')
        : channel === CHANNEL.error ? this.streams.get('error') : undefined;
    if (target && !target.localEnded && !target.finQueued && target.resetStatus === undefined) target.write(message.subarray(1));
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    for (const stream of this.streams.values()) if (stream.resetStatus === undefined) stream.end();
    this.transport?.end();
  }

  terminate(): void {
    this.closing = true;
    this.transport?.destroy();
  }

  get congested(): boolean {
    return this.transport?.congested ?? false;
  }

  pauseReading(): void {
    this.transport?.pauseReading();
  }

  resumeReading(): void {
    this.transport?.resumeReading();
  }

  start(): void {
    this.transport?.onDrain(() => this.emit('drain'));
    this.started = true;
    for (const stream of this.streams.values()) stream.resume();
  }

  private hasWantedStreams(): boolean {
    const w = this.wanted;
    return this.streams.has('error') && (!w.stdin || this.streams.has('stdin')) && (!w.stdout || this.streams.has('stdout'))
      && (!w.stderr || w.tty || this.streams.has('stderr')) && (!w.tty || this.streams.has('resize'));
  }

  private fromClient(type: StreamType, chunk: Buffer): void {
    if (type === 'stdin') {
      this.emit('message', Buffer.concat([Buffer.from([CHANNEL.stdin]), chunk]), true);
    } else if (type === 'resize') {
      // kubectl writes one JSON object per line; the channel protocol wants one per message.
      this.resizeText = (this.resizeText + chunk.toString('utf8')).slice(-4096);
      const lines = this.resizeText.split('\n');
      this.resizeText = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') this.emit('message', Buffer.concat([Buffer.from([CHANNEL.resize]), Buffer.from(line)]), true);
    }
    // kubectl writes nothing on error, stdout and stderr.
  }
}
