/** Why a frame was refused by the decoder (or could not be encoded). */
export type FrameErrorCode =
  | 'TOO_SHORT'
  | 'TOO_LARGE'
  | 'BAD_VERSION'
  | 'UNKNOWN_TYPE'
  | 'BAD_LENGTH'
  | 'BAD_STREAM_ID'
  | 'BAD_PAYLOAD'
  | 'BAD_OPEN_HEADER';

export class FrameError extends Error {
  override readonly name = 'FrameError';
  constructor(
    readonly code: FrameErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type TunnelErrorCode =
  | 'TUNNEL_CLOSED'
  | 'TOO_MANY_STREAMS'
  | 'TOO_MANY_PENDING_OPENS'
  | 'STREAM_IDS_EXHAUSTED'
  | 'OPEN_TIMEOUT'
  | 'NOT_ALLOWED'
  | 'STREAM_CANCELLED'
  | 'ALREADY_ANSWERED';

/** A local misuse or state problem of the tunnel (not something the peer said). */
export class TunnelError extends Error {
  override readonly name: string = 'TunnelError';
  constructor(
    readonly code: TunnelErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The whole tunnel is gone: every stream is destroyed with this error. */
export class TunnelClosedError extends TunnelError {
  override readonly name = 'TunnelClosedError';
  constructor(readonly reason: string) {
    super('TUNNEL_CLOSED', `tunnel closed: ${reason}`);
  }
}
