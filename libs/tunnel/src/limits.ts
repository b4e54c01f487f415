/**
 * Hard limits of the tunnel protocol. Both ends enforce them on every frame they decode,
 * so a peer can never make the other side allocate more than these bounds allow.
 */

/** Wire format version carried in the first byte of every frame. */
export const FRAME_VERSION = 1;

/** version (u8) + type (u8) + stream id (u32 BE) + payload length (u32 BE). */
export const FRAME_HEADER_SIZE = 10;

/** Largest payload a single frame may carry (DATA is chunked to this). */
export const MAX_FRAME_PAYLOAD = 64 * 1024;

/** Largest encoded frame, header included. */
export const MAX_FRAME_SIZE = FRAME_HEADER_SIZE + MAX_FRAME_PAYLOAD;

/** Largest stream id (u32). Id 0 is reserved for tunnel-level frames (PING/PONG). */
export const MAX_STREAM_ID = 0xffff_ffff;

/** Per-stream receive window bounds. The lower bound lets one full frame through. */
export const DEFAULT_INITIAL_WINDOW = 256 * 1024;
export const MIN_WINDOW = MAX_FRAME_PAYLOAD;
export const MAX_WINDOW = 16 * 1024 * 1024;

/** OPEN_ERROR / RESET reason text, in UTF-8 bytes. Longer reasons are cut on encode. */
export const MAX_REASON_BYTES = 1024;

/** Serialized StreamOpenHeader (JSON, UTF-8). */
export const MAX_OPEN_HEADER_BYTES = 16 * 1024;

/** PING / PONG nonce length. */
export const PING_NONCE_BYTES = 8;

export const DEFAULT_MAX_STREAMS = 1024;
export const DEFAULT_MAX_PENDING_OPENS = 128;
export const DEFAULT_OPEN_TIMEOUT_MS = 15_000;
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 15_000;
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 10_000;
/** Protocol violations tolerated before the tunnel is closed (a rogue or broken peer). */
export const DEFAULT_MAX_VIOLATIONS = 64;
/** PINGs answered per keepalive interval; more is a flood and counts as a violation. */
export const MAX_PINGS_PER_SECOND = 16;
