/** Hard limits on what a peer may send; every length field is checked against one before bytes are kept. */
export interface SpdyLimits {
  /** Largest control frame payload (kubectl's header blocks are well under 1 KiB). */
  maxControlPayload: number;
  /** Largest DATA frame payload (kubectl writes at most 32 KiB at a time). */
  maxDataPayload: number;
  /** Largest header block after decompression (a small block can inflate a thousandfold). */
  maxDecompressedHeaders: number;
  /** Most name/value pairs in one header block. */
  maxHeaderPairs: number;
  /** Most streams open at once (kubectl opens up to five for exec, two per forwarded connection). */
  maxConcurrentStreams: number;
  /** Most bytes held for a stream whose receiver is not attached or not reading. */
  maxBufferedPerStream: number;
}

export const DEFAULT_LIMITS: SpdyLimits = {
  maxControlPayload: 64 * 1024,
  maxDataPayload: 1024 * 1024,
  maxDecompressedHeaders: 64 * 1024,
  maxHeaderPairs: 256,
  maxConcurrentStreams: 256,
  maxBufferedPerStream: 1024 * 1024,
};
