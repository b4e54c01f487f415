/**
 * A peer broke the SPDY protocol. Without `streamId` the whole session is unusable (the framing
 * or the header compression state is lost): the session answers GOAWAY. With it, only that
 * stream is reset (RST_STREAM with `status`).
 */
export class SpdyProtocolError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly streamId?: number,
  ) {
    super(message);
    this.name = 'SpdyProtocolError';
  }
}
