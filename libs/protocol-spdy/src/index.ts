export { SPDY3_HEADER_DICTIONARY } from './dictionary.js';
export { SpdyProtocolError } from './errors.js';
export { FrameDecoder, type SpdyFrame } from './frame-decoder.js';
export * from './frames.js';
export { HeaderCompressor, HeaderDecompressor, decodeNameValueBlock, encodeNameValueBlock, type SpdyHeaders } from './header-block.js';
export { DEFAULT_LIMITS, type SpdyLimits } from './limits.js';
export { SpdySession, type SpdySessionOptions } from './session.js';
export { SpdyStream, type StreamReceiver } from './stream.js';
