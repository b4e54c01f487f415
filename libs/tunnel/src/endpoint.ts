import { OpenErrorCode, type OpenErrorCodeName, ResetCode, StreamOpenRejectedError, StreamResetError } from './codes.js';
import { decodeFrame, encodeFrame, truncateReason } from './codec.js';
import {
  type ResolvedOptions,
  type StreamHandler,
  type TunnelEndpointOptions,
  type TunnelRole,
  resolveOptions,
} from './endpoint-options.js';
import { FrameError, TunnelClosedError, TunnelError } from './errors.js';
import type { Frame, OpenFrame, StreamFrame } from './frame.js';
import { splitFrameBatch } from './frame-batch.js';
import { hopMark } from './hop-trace.js';
import { Keepalive } from './keepalive.js';
import { MAX_PINGS_PER_SECOND, MAX_STREAM_ID } from './limits.js';
import { type StreamOpenHeader, type StreamOpenHeaderInput, StreamOpenHeaderSchema } from './open-header.js';
import { type TunnelStats, type ViolationKind, emptyStats } from './stats.js';
import { type ChannelHost, TunnelChannel } from './channel.js';
import { TunnelStream } from './stream.js';

interface PendingOpen {
  header: StreamOpenHeader;
  timer: NodeJS.Timeout;
  resolve(channel: TunnelChannel): void;
  reject(error: Error): void;
}

interface PendingAccept {
  peerWindow: number;
  header: StreamOpenHeader;
  abort: AbortController;
}

/** Violations after which the peer cannot be trusted with the tunnel at all. */
const FATAL_VIOLATIONS: ReadonlySet<ViolationKind> = new Set(['OPEN_FROM_AGENT']);

/**
 * One end of the multiplexed tunnel. Transport agnostic: frames go out through `send` and come
 * in through `receive`, one transport message per frame.
 */
export class TunnelEndpoint implements ChannelHost {
  readonly role: TunnelRole;
  private readonly options: ResolvedOptions;
  private readonly transportSend: (frame: Uint8Array) => void;
  private readonly handler: StreamHandler | undefined;
  private readonly onCloseListener: TunnelEndpointOptions['onClose'];
  private readonly onViolationListener: TunnelEndpointOptions['onViolation'];

  private readonly streams = new Map<number, TunnelChannel>();
  private readonly pendingOpens = new Map<number, PendingOpen>();
  private readonly pendingAccepts = new Map<number, PendingAccept>();
  /** Highest stream id ever used on this tunnel: frames for ids at or below it may be late, above it are bogus. */
  private highestStreamId = 0;
  private readonly keepalive: Keepalive | undefined;
  private pingWindowStart = 0;
  private pingsInWindow = 0;
  private closedWith: TunnelClosedError | undefined;
  private readonly counters: TunnelStats = emptyStats();
  /** Hop-trace points of this end (see hop-trace.ts). */
  private readonly dataOutPoint: string;
  private readonly dataInPoint: string;

  constructor(options: TunnelEndpointOptions) {
    this.options = resolveOptions(options);
    this.role = options.role;
    const side = options.role === 'control-plane' ? 'cp' : 'agent';
    this.dataOutPoint = `${side}.data.out`;
    this.dataInPoint = `${side}.data.in`;
    this.transportSend = options.send;
    this.handler = options.onStream;
    this.onCloseListener = options.onClose;
    this.onViolationListener = options.onViolation;
    if (this.options.keepalive) {
      this.keepalive = new Keepalive({
        ...this.options.keepalive,
        sendPing: (nonce) => this.sendFrame({ type: 'PING', streamId: 0, nonce }),
        onTimeout: () => this.close('keepalive timeout: no PONG from peer'),
      });
      this.keepalive.start();
    }
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  stats(): TunnelStats {
    return {
      ...this.counters,
      violationsByKind: { ...this.counters.violationsByKind },
      openStreams: this.streams.size,
      pendingOpens: this.pendingOpens.size + this.pendingAccepts.size,
    };
  }

  /** Control-plane side: open a stream as a Node Duplex; resolves on OPEN_OK, rejects with the agent's OPEN_ERROR. */
  openStream(headerInput: StreamOpenHeaderInput): Promise<TunnelStream> {
    return this.openChannel(headerInput).then((channel) => new TunnelStream(channel));
  }

  /**
   * Control-plane side: open a stream as a callback channel (a relay that needs no Node stream); the
   * caller attaches its handlers. Resolves on OPEN_OK, rejects with the agent's OPEN_ERROR.
   */
  openChannel(headerInput: StreamOpenHeaderInput): Promise<TunnelChannel> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (this.role !== 'control-plane') {
      return Promise.reject(new TunnelError('NOT_ALLOWED', 'only the control-plane side may open streams'));
    }
    if (this.pendingOpens.size >= this.options.maxPendingOpens) {
      return Promise.reject(new TunnelError('TOO_MANY_PENDING_OPENS', `${this.pendingOpens.size} opens already pending`));
    }
    if (this.streams.size + this.pendingOpens.size >= this.options.maxStreams) {
      return Promise.reject(new TunnelError('TOO_MANY_STREAMS', `stream limit of ${this.options.maxStreams} reached`));
    }
    if (this.highestStreamId >= MAX_STREAM_ID) {
      return Promise.reject(new TunnelError('STREAM_IDS_EXHAUSTED', 'stream ids exhausted; reconnect the tunnel'));
    }
    const parsed = StreamOpenHeaderSchema.safeParse(headerInput);
    if (!parsed.success) {
      return Promise.reject(new FrameError('BAD_OPEN_HEADER', `invalid open header: ${parsed.error.message}`));
    }
    const header = parsed.data;
    const streamId = ++this.highestStreamId;
    return new Promise<TunnelChannel>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.pendingOpens.delete(streamId)) return;
        this.sendFrame({ type: 'RESET', streamId, code: ResetCode.OPEN_TIMEOUT, message: 'open timed out' });
        reject(new TunnelError('OPEN_TIMEOUT', `no answer to OPEN of stream ${streamId} within ${this.options.openTimeoutMs} ms`));
      }, this.options.openTimeoutMs).unref();
      this.pendingOpens.set(streamId, { header, timer, resolve, reject });
      this.sendFrame({ type: 'OPEN', streamId, window: this.options.initialWindow, header });
    });
  }

  /**
   * Feed one frame from the transport. Never throws: malformed frames and protocol violations are
   * counted (and may close the tunnel). The frame's bytes are owned by the tunnel afterwards.
   */
  receive(bytes: Uint8Array): void {
    if (this.closedWith) return;
    this.counters.framesIn++;
    this.counters.bytesIn += bytes.length;
    let frame: Frame;
    try {
      frame = decodeFrame(bytes);
    } catch (error) {
      const detail = error instanceof FrameError ? `${error.code}: ${error.message}` : 'undecodable frame';
      this.violation('MALFORMED_FRAME', 0, detail);
      return;
    }
    try {
      this.dispatch(frame);
    } catch (error) {
      // Only reachable through application code run synchronously by push() (a 'data' listener
      // that throws). That stream fails; the tunnel and the other streams carry on.
      const channel = frame.streamId === 0 ? undefined : this.streams.get(frame.streamId);
      channel?.fail(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Feed one frame batch (several frames back to back, see frame-batch.ts). A batch that does not
   * split into frames counts as one malformed frame and is dropped whole: after a bad length no
   * later frame boundary can be trusted.
   */
  receiveBatch(batch: Uint8Array): void {
    if (this.closedWith) return;
    let frames: Uint8Array[];
    try {
      frames = splitFrameBatch(batch);
    } catch (error) {
      this.counters.framesIn++;
      this.counters.bytesIn += batch.length;
      const detail = error instanceof FrameError ? `${error.code}: ${error.message}` : 'unsplittable frame batch';
      this.violation('MALFORMED_FRAME', 0, detail);
      return;
    }
    for (const frame of frames) this.receive(frame);
  }

  /** Tear down the tunnel: every stream and pending open fails with a TunnelClosedError. Idempotent. */
  close(reason = 'closed by application'): void {
    if (this.closedWith) return;
    const error = new TunnelClosedError(reason);
    this.closedWith = error;
    this.keepalive?.stop();
    for (const pending of this.pendingOpens.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.pendingOpens.clear();
    for (const pending of this.pendingAccepts.values()) pending.abort.abort(error);
    this.pendingAccepts.clear();
    const streams = [...this.streams.values()];
    this.streams.clear();
    for (const stream of streams) stream.abortByTunnel(error);
    this.onCloseListener?.(error);
  }

  // ---- StreamHost ----

  /** @internal */
  sendFrame(frame: Frame): void {
    if (this.closedWith) return;
    if (frame.type === 'DATA') hopMark(this.dataOutPoint, frame.streamId);
    const bytes = encodeFrame(frame);
    this.counters.framesOut++;
    this.counters.bytesOut += bytes.length;
    try {
      this.transportSend(bytes);
    } catch (error) {
      this.close(`transport send failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** @internal */
  channelClosed(channel: TunnelChannel): void {
    if (this.streams.get(channel.id) === channel) this.streams.delete(channel.id);
  }

  /** @internal */
  violation(kind: ViolationKind, streamId: number, detail: string): void {
    if (this.closedWith) return;
    this.counters.violations++;
    this.counters.violationsByKind[kind]++;
    this.counters.lastViolation = { kind, streamId, detail };
    this.onViolationListener?.(kind, streamId, detail);
    if (FATAL_VIOLATIONS.has(kind) || this.counters.violations > this.options.maxViolations) {
      this.close(`protocol violation by peer (${kind}${streamId ? ` on stream ${streamId}` : ''}): ${detail}`);
    }
  }

  // ---- dispatch ----

  private dispatch(frame: Frame): void {
    switch (frame.type) {
      case 'PING':
        this.answerPing(frame.nonce);
        return;
      case 'PONG':
        // A PONG that matches nothing is a late answer to a PING we stopped waiting for: harmless.
        this.keepalive?.onPong(frame.nonce);
        return;
      case 'OPEN':
        if (this.role === 'control-plane') {
          this.violation('OPEN_FROM_AGENT', frame.streamId, 'the agent side may not open streams');
        } else {
          this.acceptOpen(frame);
        }
        return;
      case 'OPEN_OK':
      case 'OPEN_ERROR':
        this.answerToOpen(frame);
        return;
      case 'DATA':
      case 'CREDIT':
      case 'END':
      case 'RESET':
        this.streamFrame(frame);
        return;
    }
  }

  private answerPing(nonce: Uint8Array): void {
    const now = Date.now();
    if (now - this.pingWindowStart >= 1000) {
      this.pingWindowStart = now;
      this.pingsInWindow = 0;
    }
    if (++this.pingsInWindow > MAX_PINGS_PER_SECOND) {
      this.violation('PING_FLOOD', 0, `more than ${MAX_PINGS_PER_SECOND} PINGs in one second`);
      return;
    }
    this.sendFrame({ type: 'PONG', streamId: 0, nonce });
  }

  private answerToOpen(frame: Extract<Frame, { type: 'OPEN_OK' | 'OPEN_ERROR' }>): void {
    const pending = this.role === 'control-plane' ? this.pendingOpens.get(frame.streamId) : undefined;
    if (!pending) {
      this.unmatched(frame);
      return;
    }
    this.pendingOpens.delete(frame.streamId);
    clearTimeout(pending.timer);
    if (frame.type === 'OPEN_ERROR') {
      this.counters.opensRefused++;
      pending.reject(new StreamOpenRejectedError(frame.code, frame.message));
      return;
    }
    const channel = new TunnelChannel({
      id: frame.streamId,
      header: pending.header,
      localWindow: this.options.initialWindow,
      peerWindow: frame.window,
      host: this,
    });
    this.streams.set(frame.streamId, channel);
    this.counters.streamsOpened++;
    pending.resolve(channel);
  }

  private streamFrame(frame: Extract<StreamFrame, { type: 'DATA' | 'CREDIT' | 'END' | 'RESET' }>): void {
    const stream = this.streams.get(frame.streamId);
    if (stream) {
      switch (frame.type) {
        case 'DATA':
          hopMark(this.dataInPoint, frame.streamId);
          stream.onData(frame.data);
          return;
        case 'CREDIT':
          stream.onCredit(frame.increment);
          return;
        case 'END':
          stream.onEnd();
          return;
        case 'RESET':
          stream.onReset(frame.code, frame.message);
          return;
      }
    }
    if (frame.type === 'RESET') {
      const pendingOpen = this.pendingOpens.get(frame.streamId);
      if (pendingOpen) {
        this.pendingOpens.delete(frame.streamId);
        clearTimeout(pendingOpen.timer);
        pendingOpen.reject(new StreamResetError(frame.code, frame.message, true));
        return;
      }
      const pendingAccept = this.pendingAccepts.get(frame.streamId);
      if (pendingAccept) {
        this.pendingAccepts.delete(frame.streamId);
        pendingAccept.abort.abort(new StreamResetError(frame.code, frame.message, true));
        return;
      }
    }
    this.unmatched(frame);
  }

  /** A stream frame with no live stream: late (ignored) or not allowed here (violation). */
  private unmatched(frame: StreamFrame): void {
    const answer = frame.type === 'OPEN_OK' || frame.type === 'OPEN_ERROR';
    if (this.pendingOpens.has(frame.streamId) || this.pendingAccepts.has(frame.streamId)) {
      this.violation('UNEXPECTED_FRAME', frame.streamId, `${frame.type} before the stream was established`);
    } else if (answer && this.role === 'agent') {
      this.violation('UNEXPECTED_FRAME', frame.streamId, `${frame.type} sent to the agent, which opens no streams`);
    } else if (frame.streamId <= this.highestStreamId) {
      // Crossed in flight with our RESET / END or an open we gave up on: a normal race.
      this.counters.framesDropped++;
    } else {
      this.violation('UNKNOWN_STREAM', frame.streamId, `${frame.type} for stream ${frame.streamId}, which was never opened`);
    }
  }

  // ---- agent side ----

  private acceptOpen(frame: OpenFrame): void {
    const { streamId } = frame;
    if (streamId <= this.highestStreamId) {
      this.violation('STREAM_ID_REUSE', streamId, `OPEN for stream ${streamId}, ids must increase (last ${this.highestStreamId})`);
      return;
    }
    this.highestStreamId = streamId;
    const refuse = (code: OpenErrorCodeName, reason: string): void => {
      this.counters.opensRefused++;
      this.sendFrame({ type: 'OPEN_ERROR', streamId, code: OpenErrorCode[code], message: reason });
    };
    if (this.streams.size + this.pendingAccepts.size >= this.options.maxStreams) {
      refuse('TOO_MANY_STREAMS', `agent stream limit of ${this.options.maxStreams} reached`);
      return;
    }
    if (this.pendingAccepts.size >= this.options.maxPendingOpens) {
      refuse('TOO_MANY_STREAMS', `agent has ${this.pendingAccepts.size} opens pending`);
      return;
    }
    const handler = this.handler;
    if (!handler) {
      refuse('NO_HANDLER', 'agent accepts no streams');
      return;
    }
    const pending: PendingAccept = { peerWindow: frame.window, header: frame.header, abort: new AbortController() };
    this.pendingAccepts.set(streamId, pending);
    let answered = false;

    const acceptChannel = (): TunnelChannel => {
      if (answered) throw new TunnelError('ALREADY_ANSWERED', `stream ${streamId} was already accepted or rejected`);
      if (this.closedWith) throw this.closedWith;
      if (pending.abort.signal.aborted) throw new TunnelError('STREAM_CANCELLED', `open of stream ${streamId} was cancelled by the peer`);
      answered = true;
      this.pendingAccepts.delete(streamId);
      const channel = new TunnelChannel({
        id: streamId,
        header: frame.header,
        localWindow: this.options.initialWindow,
        peerWindow: pending.peerWindow,
        host: this,
      });
      this.streams.set(streamId, channel);
      this.counters.streamsOpened++;
      this.sendFrame({ type: 'OPEN_OK', streamId, window: this.options.initialWindow });
      return channel;
    };
    const accept = (): TunnelStream => new TunnelStream(acceptChannel());
    const reject = (code: OpenErrorCodeName | number, reason: string): void => {
      // Nothing to answer once cancelled, closed or answered: the opener already moved on.
      if (answered || this.closedWith || pending.abort.signal.aborted) return;
      answered = true;
      this.pendingAccepts.delete(streamId);
      this.counters.opensRefused++;
      const numeric = typeof code === 'number' ? code : OpenErrorCode[code];
      this.sendFrame({ type: 'OPEN_ERROR', streamId, code: numeric, message: truncateReason(reason) });
    };
    const failed = (): void => reject('INTERNAL', 'stream handler failed');

    try {
      const result = handler(frame.header, accept, reject, { streamId, signal: pending.abort.signal, acceptChannel });
      if (result instanceof Promise) result.catch(failed);
    } catch {
      failed();
    }
  }
}
