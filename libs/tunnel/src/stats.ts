export const VIOLATION_KINDS = [
  'MALFORMED_FRAME',
  'OPEN_FROM_AGENT',
  'STREAM_ID_REUSE',
  'UNKNOWN_STREAM',
  'UNEXPECTED_FRAME',
  'DATA_AFTER_END',
  'FLOW_CONTROL',
  'PING_FLOOD',
] as const;

/** A peer broke a protocol rule. Each one is counted; too many close the tunnel. */
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

export interface TunnelStats {
  /** Established streams (OPEN_OK exchanged, not yet closed). */
  openStreams: number;
  /** Opens waiting for the agent's answer (control plane) or for the handler (agent). */
  pendingOpens: number;
  /** Streams established since the tunnel started. */
  streamsOpened: number;
  /** OPENs refused (by the handler or by limits) since the tunnel started. */
  opensRefused: number;
  framesIn: number;
  framesOut: number;
  /** Frame bytes received / sent, headers included. */
  bytesIn: number;
  bytesOut: number;
  /** Frames for streams that closed recently (legitimate races), ignored. */
  framesDropped: number;
  violations: number;
  violationsByKind: Record<ViolationKind, number>;
  lastViolation?: { kind: ViolationKind; streamId: number; detail: string };
}

export function emptyStats(): TunnelStats {
  return {
    openStreams: 0,
    pendingOpens: 0,
    streamsOpened: 0,
    opensRefused: 0,
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    framesDropped: 0,
    violations: 0,
    violationsByKind: Object.fromEntries(VIOLATION_KINDS.map((k) => [k, 0])) as Record<ViolationKind, number>,
  };
}
