import type { OpenErrorCodeName } from './codes.js';
import type { TunnelClosedError } from './errors.js';
import {
  DEFAULT_INITIAL_WINDOW,
  DEFAULT_KEEPALIVE_INTERVAL_MS,
  DEFAULT_KEEPALIVE_TIMEOUT_MS,
  DEFAULT_MAX_PENDING_OPENS,
  DEFAULT_MAX_STREAMS,
  DEFAULT_MAX_VIOLATIONS,
  DEFAULT_OPEN_TIMEOUT_MS,
  MAX_WINDOW,
  MIN_WINDOW,
} from './limits.js';
import type { StreamOpenHeader } from './open-header.js';
import type { ViolationKind } from './stats.js';
import type { TunnelChannel } from './channel.js';
import type { TunnelStream } from './stream.js';

/** The control plane opens streams; the agent accepts them. */
export type TunnelRole = 'control-plane' | 'agent';

export interface StreamOpenContext {
  streamId: number;
  /** Aborted when the opener gives up (RESET, timeout) or the tunnel closes before an answer. */
  signal: AbortSignal;
  /** Accept as a callback channel instead of a Duplex (call this or accept(), not both). */
  acceptChannel: () => TunnelChannel;
}

/**
 * Agent side: decide on one OPEN. Call exactly one of accept() / reject(), synchronously or later.
 * accept() throws a TunnelError if the open was cancelled or the tunnel closed meanwhile.
 */
export type StreamHandler = (
  header: StreamOpenHeader,
  accept: () => TunnelStream,
  reject: (code: OpenErrorCodeName | number, reason: string) => void,
  context: StreamOpenContext,
) => void | Promise<void>;

export interface TunnelEndpointOptions {
  role: TunnelRole;
  /** Hand one encoded frame to the transport (one transport message per frame). */
  send: (frame: Uint8Array) => void;
  /** Required on the agent side; an OPEN without a handler is refused. */
  onStream?: StreamHandler;
  /** Called once when the tunnel closes, whatever the cause. The transport should then be closed. */
  onClose?: (error: TunnelClosedError) => void;
  /** Called for each protocol violation by the peer (for logging). */
  onViolation?: (kind: ViolationKind, streamId: number, detail: string) => void;
  /** Per-stream receive window in bytes (default 256 KiB). */
  initialWindow?: number;
  /** Concurrent streams, pending opens included (default 1024). */
  maxStreams?: number;
  /** Opens waiting for an answer (default 128). */
  maxPendingOpens?: number;
  /** How long openStream() waits for OPEN_OK / OPEN_ERROR (default 15 s). */
  openTimeoutMs?: number;
  /** PING cadence and PONG deadline; false disables sending PINGs (PINGs are still answered). */
  keepalive?: { intervalMs?: number; timeoutMs?: number } | false;
  /** Violations tolerated before the tunnel is closed (default 64). */
  maxViolations?: number;
}

export interface ResolvedOptions {
  initialWindow: number;
  maxStreams: number;
  maxPendingOpens: number;
  openTimeoutMs: number;
  keepalive: { intervalMs: number; timeoutMs: number } | false;
  maxViolations: number;
}

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`tunnel option ${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return v;
}

export function resolveOptions(options: TunnelEndpointOptions): ResolvedOptions {
  if (options.role !== 'control-plane' && options.role !== 'agent') {
    throw new RangeError(`tunnel role must be 'control-plane' or 'agent'`);
  }
  const keepalive =
    options.keepalive === false
      ? false
      : {
          intervalMs: positiveInt('keepalive.intervalMs', options.keepalive?.intervalMs, DEFAULT_KEEPALIVE_INTERVAL_MS),
          timeoutMs: positiveInt('keepalive.timeoutMs', options.keepalive?.timeoutMs, DEFAULT_KEEPALIVE_TIMEOUT_MS),
        };
  return {
    initialWindow: positiveInt('initialWindow', options.initialWindow, DEFAULT_INITIAL_WINDOW, MIN_WINDOW, MAX_WINDOW),
    maxStreams: positiveInt('maxStreams', options.maxStreams, DEFAULT_MAX_STREAMS, 1, 1 << 20),
    maxPendingOpens: positiveInt('maxPendingOpens', options.maxPendingOpens, DEFAULT_MAX_PENDING_OPENS, 1, 1 << 20),
    openTimeoutMs: positiveInt('openTimeoutMs', options.openTimeoutMs, DEFAULT_OPEN_TIMEOUT_MS),
    keepalive,
    maxViolations: positiveInt('maxViolations', options.maxViolations, DEFAULT_MAX_VIOLATIONS, 0),
  };
}
