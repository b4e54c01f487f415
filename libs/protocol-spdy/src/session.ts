import { SpdyProtocolError } from './errors.js';
import { FrameDecoder, type SpdyFrame } from './frame-decoder.js';
import {
  DEFAULT_WINDOW, FLAG_FIN, FLAG_UNIDIRECTIONAL, GoAwayStatus, MAX_WINDOW, RstStatus, SETTINGS_INITIAL_WINDOW_SIZE,
  encodeData, encodeGoAway, encodePing, encodeRstStream, encodeSynReply, encodeSynStream, encodeWindowUpdate,
} from './frames.js';
import { HeaderCompressor, HeaderDecompressor } from './header-block.js';
import { DEFAULT_LIMITS, type SpdyLimits } from './limits.js';
import { SpdyStream, type StreamHost } from './stream.js';

/** Largest DATA frame this side sends. */
const MAX_SEND_FRAME = 32 * 1024;

export interface SpdySessionOptions {
  /** Servers answer streams with odd ids and open even ones; clients the other way round. */
  role: 'server' | 'client';
  /** Frames for the peer, in order. The session never touches a socket. */
  output(bytes: Buffer): void;
  /** The peer opened a stream (SYN_STREAM). Answer with `stream.reply()` or `stream.reset()`. */
  onStream?(stream: SpdyStream): void;
  onGoAway?(lastGoodStreamId: number, status: number): void;
  /** The answer to a `ping()`. */
  onPingReply?(id: number): void;
  /** The session failed (GOAWAY already sent); nothing more is read or sent. */
  onError?(error: SpdyProtocolError): void;
  limits?: Partial<SpdyLimits>;
  /**
   * SPDY/3.1 flow control both ways (the default): data waits for the peer's window, and a peer
   * that overruns this side's window gets FLOW_CONTROL_ERROR. With `false`, windows are still
   * advertised and given back, but neither side's is enforced: for peers that ignore them (the
   * spdystream library of Kubernetes clients neither reads nor sends WINDOW_UPDATE, so it would
   * stall after 64 KiB). The transport's own backpressure then bounds memory.
   */
  strictFlowControl?: boolean;
}

/**
 * A SPDY/3.1 session, socket-free: `receive()` is fed bytes as they arrive, frames go out through
 * `output`. One zlib context per direction for header blocks, stream and session flow-control
 * windows, PING answered, GOAWAY both ways. A broken frame or header block ends the session with
 * GOAWAY; a bad stream is reset alone.
 */
export class SpdySession implements StreamHost {
  private readonly limits: SpdyLimits;
  private readonly decoder: FrameDecoder;
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor: HeaderDecompressor;
  private readonly streams = new Map<number, SpdyStream>();
  private readonly strict: boolean;
  private nextStreamId: number;
  private lastPeerStreamId = 0;
  private nextPingId: number;
  private peerInitialWindow = DEFAULT_WINDOW;
  private sessionSendWindow = DEFAULT_WINDOW;
  private sessionReceiveWindow = DEFAULT_WINDOW;
  private sessionUnacked = 0;
  private readonly unacked = new Map<number, number>();
  private sentGoAway = false;
  private receivedGoAway = false;
  private failed: SpdyProtocolError | undefined;

  constructor(private readonly o: SpdySessionOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...o.limits };
    this.decoder = new FrameDecoder(this.limits);
    this.decompressor = new HeaderDecompressor(this.limits);
    this.strict = o.strictFlowControl ?? true;
    this.nextStreamId = o.role === 'client' ? 1 : 2;
    this.nextPingId = o.role === 'client' ? 1 : 2;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  get closed(): boolean {
    return this.failed !== undefined;
  }

  get goingAway(): boolean {
    return this.sentGoAway || this.receivedGoAway;
  }

  /** Feeds bytes from the peer. Never throws: protocol errors end the session or reset a stream. */
  receive(chunk: Buffer): void {
    if (this.failed) return;
    let frames: SpdyFrame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      this.fail(error);
      return;
    }
    for (const frame of frames) {
      if (this.failed) return;
      try {
        this.handle(frame);
      } catch (error) {
        if (error instanceof SpdyProtocolError && error.streamId !== undefined) this.resetFromError(error);
        else this.fail(error);
      }
    }
  }

  /** Opens a stream (SYN_STREAM) with these headers. */
  openStream(headers: Record<string, string | string[]>, o: { fin?: boolean; priority?: number } = {}): SpdyStream {
    if (this.failed || this.goingAway) throw new Error('the SPDY session is closing: no new streams');
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new SpdyStream(id, {}, this, this.peerInitialWindow, DEFAULT_WINDOW, this.limits.maxBufferedPerStream);
    this.streams.set(id, stream);
    if (o.fin) stream.localEnded = true;
    this.o.output(encodeSynStream(id, 0, o.priority ?? 0, this.compressor.compress(headers), o.fin ? FLAG_FIN : 0));
    return stream;
  }

  ping(): number {
    const id = this.nextPingId;
    this.nextPingId = (this.nextPingId + 2) >>> 0;
    this.o.output(encodePing(id));
    return id;
  }

  /** GOAWAY: no new streams; the open ones run to their end. */
  goAway(status: number = GoAwayStatus.OK): void {
    if (this.sentGoAway || this.failed) return;
    this.sentGoAway = true;
    this.o.output(encodeGoAway(this.lastPeerStreamId, status));
  }

  /** Resets every open stream (the transport is going away). */
  destroy(): void {
    for (const stream of [...this.streams.values()]) stream.remoteReset(RstStatus.CANCEL);
    this.streams.clear();
  }

  // --- StreamHost ---

  sendReply(stream: SpdyStream, headers: Record<string, string | string[]>, fin: boolean): void {
    if (this.failed) return;
    this.o.output(encodeSynReply(stream.id, this.compressor.compress(headers), fin ? FLAG_FIN : 0));
  }

  sendData(stream: SpdyStream): void {
    if (this.failed) return;
    while (stream.outbound.length > 0) {
      const allowed = this.strict ? Math.min(stream.sendWindow, this.sessionSendWindow) : Number.MAX_SAFE_INTEGER;
      if (allowed <= 0) return;
      const head = stream.outbound[0]!;
      const n = Math.min(head.length, allowed, MAX_SEND_FRAME);
      const piece = head.subarray(0, n);
      if (n === head.length) stream.outbound.shift();
      else stream.outbound[0] = head.subarray(n);
      stream.outboundBytes -= n;
      stream.sendWindow -= n;
      this.sessionSendWindow -= n;
      const fin = stream.finQueued && stream.outbound.length === 0;
      this.o.output(encodeData(stream.id, piece, fin ? FLAG_FIN : 0));
      if (fin) this.finished(stream);
    }
    if (stream.finQueued && !stream.localEnded) {
      this.o.output(encodeData(stream.id, Buffer.alloc(0), FLAG_FIN));
      this.finished(stream);
    }
    stream.onDrain?.();
  }

  sendReset(stream: SpdyStream, status: number): void {
    if (this.failed) return;
    this.o.output(encodeRstStream(stream.id, status));
  }

  consumed(stream: SpdyStream, bytes: number): void {
    if (this.failed || bytes === 0) return;
    this.consumedBySession(bytes);
    if (stream.remoteEnded || stream.resetStatus !== undefined) return;
    const pending = (this.unacked.get(stream.id) ?? 0) + bytes;
    if (pending >= DEFAULT_WINDOW / 2) {
      stream.receiveWindow += pending;
      this.o.output(encodeWindowUpdate(stream.id, pending));
      this.unacked.delete(stream.id);
    } else this.unacked.set(stream.id, pending);
  }

  /** Window is given back once half of it has been read, not per frame. */
  private consumedBySession(bytes: number): void {
    this.sessionUnacked += bytes;
    if (this.sessionUnacked >= DEFAULT_WINDOW / 2) {
      this.sessionReceiveWindow += this.sessionUnacked;
      this.o.output(encodeWindowUpdate(0, this.sessionUnacked));
      this.sessionUnacked = 0;
    }
  }

  streamClosed(stream: SpdyStream): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
    this.unacked.delete(stream.id);
  }

  // --- frames from the peer ---

  private handle(frame: SpdyFrame): void {
    switch (frame.type) {
      case 'syn_stream':
        return this.onSynStream(frame);
      case 'syn_reply': {
        const headers = this.decompressor.decompress(frame.headerBlock, frame.streamId);
        const stream = this.streams.get(frame.streamId);
        if (!stream || !this.ownStream(frame.streamId)) return this.refuse(frame.streamId, RstStatus.INVALID_STREAM);
        if (stream.replied) throw new SpdyProtocolError(`a second SYN_REPLY on stream ${stream.id}`, RstStatus.STREAM_IN_USE, stream.id);
        stream.replied = true;
        stream.headers = headers;
        stream.onReply?.(headers);
        if (frame.flags & FLAG_FIN) stream.remoteEnd();
        return;
      }
      case 'headers': {
        const headers = this.decompressor.decompress(frame.headerBlock, frame.streamId);
        const stream = this.streams.get(frame.streamId);
        if (!stream) return this.refuse(frame.streamId, RstStatus.INVALID_STREAM);
        if (stream.remoteEnded) throw new SpdyProtocolError(`HEADERS on half-closed stream ${stream.id}`, RstStatus.STREAM_ALREADY_CLOSED, stream.id);
        for (const [name, values] of Object.entries(headers)) stream.headers[name] = [...(stream.headers[name] ?? []), ...values];
        if (frame.flags & FLAG_FIN) stream.remoteEnd();
        return;
      }
      case 'data':
        return this.onData(frame.streamId, frame.flags, frame.data);
      case 'rst_stream':
        this.streams.get(frame.streamId)?.remoteReset(frame.status);
        return;
      case 'settings':
        for (const entry of frame.entries) {
          if (entry.id !== SETTINGS_INITIAL_WINDOW_SIZE) continue;
          if (entry.value > MAX_WINDOW) throw new SpdyProtocolError(`SETTINGS_INITIAL_WINDOW_SIZE ${entry.value} is past 2^31 - 1`, GoAwayStatus.PROTOCOL_ERROR);
          // The change applies to every open stream's window as well (SPDY/3.1 section 2.6.8).
          const delta = entry.value - this.peerInitialWindow;
          this.peerInitialWindow = entry.value;
          for (const stream of this.streams.values()) stream.sendWindow += delta;
          if (delta > 0) this.flushAll();
        }
        return;
      case 'ping':
        // A PING with the peer's parity is the peer's: echo it. One with ours answers ours.
        if ((frame.id & 1) === (this.o.role === 'server' ? 1 : 0)) this.o.output(encodePing(frame.id));
        else this.o.onPingReply?.(frame.id);
        return;
      case 'goaway':
        this.receivedGoAway = true;
        this.o.onGoAway?.(frame.lastGoodStreamId, frame.status);
        return;
      case 'window_update':
        return this.onWindowUpdate(frame.streamId, frame.delta);
      case 'unknown':
        return;
    }
  }

  private onSynStream(frame: Extract<SpdyFrame, { type: 'syn_stream' }>): void {
    // Decompressed first, whatever becomes of the stream: the zlib state must see every block.
    const headers = this.decompressor.decompress(frame.headerBlock, frame.streamId);
    const id = frame.streamId;
    if (id === 0 || this.ownStream(id)) throw new SpdyProtocolError(`SYN_STREAM with stream id ${id}, which is not the peer's to open`, GoAwayStatus.PROTOCOL_ERROR);
    if (id <= this.lastPeerStreamId) throw new SpdyProtocolError(`SYN_STREAM ${id} after ${this.lastPeerStreamId} (ids only grow)`, GoAwayStatus.PROTOCOL_ERROR);
    this.lastPeerStreamId = id;
    if (this.sentGoAway || this.streams.size >= this.limits.maxConcurrentStreams) return this.refuse(id, RstStatus.REFUSED_STREAM);
    const stream = new SpdyStream(id, headers, this, this.peerInitialWindow, DEFAULT_WINDOW, this.limits.maxBufferedPerStream);
    this.streams.set(id, stream);
    if (frame.flags & FLAG_UNIDIRECTIONAL) stream.localEnded = true;
    if (frame.flags & FLAG_FIN) stream.remoteEnded = true;
    if (this.o.onStream) this.o.onStream(stream);
    else stream.reset(RstStatus.REFUSED_STREAM);
    if (stream.remoteEnded) {
      stream.remoteEnded = false;
      stream.remoteEnd();
    }
  }

  private onData(id: number, flags: number, data: Buffer): void {
    const stream = this.streams.get(id);
    if (!stream) {
      // Data may still be in flight after this side reset the stream; only count it.
      this.sessionReceiveWindow -= data.length;
      if (data.length > 0) this.consumedBySession(data.length);
      if (id > this.lastPeerStreamId && !this.ownStream(id)) this.refuse(id, RstStatus.INVALID_STREAM);
      return;
    }
    if (stream.remoteEnded) throw new SpdyProtocolError(`DATA on stream ${id} after its FIN`, RstStatus.STREAM_ALREADY_CLOSED, id);
    if (this.strict && (data.length > this.sessionReceiveWindow || data.length > stream.receiveWindow)) {
      throw new SpdyProtocolError(`stream ${id} sent ${data.length} bytes past the flow-control window`, RstStatus.FLOW_CONTROL_ERROR, id);
    }
    this.sessionReceiveWindow -= data.length;
    stream.receiveWindow -= data.length;
    if (data.length > 0) stream.deliver(data);
    if (flags & FLAG_FIN) stream.remoteEnd();
  }

  private onWindowUpdate(id: number, delta: number): void {
    if (id === 0) {
      if (this.sessionSendWindow + delta > MAX_WINDOW && this.strict) throw new SpdyProtocolError('session window grown past 2^31 - 1', GoAwayStatus.PROTOCOL_ERROR);
      this.sessionSendWindow = Math.min(this.sessionSendWindow + delta, MAX_WINDOW);
      this.flushAll();
      return;
    }
    const stream = this.streams.get(id);
    if (!stream) return;
    if (stream.sendWindow + delta > MAX_WINDOW && this.strict) throw new SpdyProtocolError(`stream ${id} window grown past 2^31 - 1`, RstStatus.FLOW_CONTROL_ERROR, id);
    stream.sendWindow = Math.min(stream.sendWindow + delta, MAX_WINDOW);
    if (stream.outbound.length > 0 || stream.finQueued) this.sendData(stream);
  }

  private flushAll(): void {
    for (const stream of this.streams.values()) if (stream.outbound.length > 0) this.sendData(stream);
  }

  private finished(stream: SpdyStream): void {
    stream.localEnded = true;
    stream.finQueued = false;
    stream.maybeClosed();
  }

  private ownStream(id: number): boolean {
    return (id & 1) === (this.o.role === 'client' ? 1 : 0);
  }

  private refuse(id: number, status: number): void {
    this.o.output(encodeRstStream(id, status));
  }

  private resetFromError(error: SpdyProtocolError): void {
    const id = error.streamId!;
    const stream = this.streams.get(id);
    if (stream) stream.abort(error.status);
    else this.refuse(id, error.status);
  }

  private fail(error: unknown): void {
    const failure = error instanceof SpdyProtocolError ? error : new SpdyProtocolError(String(error), GoAwayStatus.INTERNAL_ERROR);
    if (this.failed) return;
    if (!this.sentGoAway) this.o.output(encodeGoAway(this.lastPeerStreamId, failure.status === GoAwayStatus.INTERNAL_ERROR ? GoAwayStatus.INTERNAL_ERROR : GoAwayStatus.PROTOCOL_ERROR));
    this.sentGoAway = true;
    this.failed = failure;
    for (const stream of [...this.streams.values()]) stream.remoteReset(RstStatus.CANCEL);
    this.streams.clear();
    this.o.onError?.(failure);
  }
}
