/**
 * Numeric codes carried by RESET and OPEN_ERROR frames. The wire carries any u16 so that a newer
 * peer's code still decodes; these names cover what this version sends.
 */
export const ResetCode = {
  CANCEL: 1,
  PROTOCOL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  INTERNAL: 4,
  TUNNEL_CLOSING: 5,
  OPEN_TIMEOUT: 6,
} as const;
export type ResetCodeName = keyof typeof ResetCode;

export const OpenErrorCode = {
  REJECTED: 1,
  GRANT_INVALID: 2,
  RESOURCE_UNKNOWN: 3,
  RESOURCE_UNAVAILABLE: 4,
  TOO_MANY_STREAMS: 5,
  NO_HANDLER: 6,
  INTERNAL: 7,
  PROTOCOL_ERROR: 8,
} as const;
export type OpenErrorCodeName = keyof typeof OpenErrorCode;

function nameOf(table: Record<string, number>, code: number): string {
  for (const [name, value] of Object.entries(table)) if (value === code) return name;
  return `UNKNOWN_${code}`;
}

export const resetCodeName = (code: number): string => nameOf(ResetCode, code);
export const openErrorCodeName = (code: number): string => nameOf(OpenErrorCode, code);

/** The peer reset the stream (or the local side did so after a violation). */
export class StreamResetError extends Error {
  override readonly name = 'StreamResetError';
  constructor(
    readonly code: number,
    readonly reason: string,
    readonly byPeer: boolean,
  ) {
    super(`stream reset ${byPeer ? 'by peer' : 'locally'} (${resetCodeName(code)}): ${reason}`);
  }
  get codeName(): string {
    return resetCodeName(this.code);
  }
}

/** The agent refused to open the stream (OPEN_ERROR). */
export class StreamOpenRejectedError extends Error {
  override readonly name = 'StreamOpenRejectedError';
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`stream open rejected (${openErrorCodeName(code)}): ${reason}`);
  }
  get codeName(): string {
    return openErrorCodeName(this.code);
  }
}
