export * from './errors.js';
export { DEFAULT_LIMITS, MAX_WIRE_LENGTH, resolveLimits, type ProtocolLimits } from './limits.js';
export { Reader } from './reader.js';
export { Writer } from './writer.js';
export * from './frontend-messages.js';
export * from './backend-messages.js';
export { FrontendParser, type FrontendParserOptions, type FrontendPhase } from './frontend-parser.js';
export { BackendParser, type BackendParserOptions } from './backend-parser.js';
export { FRONTEND_MESSAGES } from './frontend-table.js';
export { BACKEND_MESSAGES } from './backend-table.js';
export type { MessageSpec, MessageTable } from './message-table.js';
export {
  serializeFrontend,
  writeFrontend,
  startupMessage,
  sslRequest,
  query,
  passwordMessage,
  saslInitialResponse,
  saslResponse,
} from './frontend-serialize.js';
export { serializeBackend, writeBackend, dataRow } from './backend-serialize.js';
export { decodePassword, decodeSASLInitialResponse, decodeSASLResponse, type SASLInitialResponse } from './auth-response.js';
export { errorResponse, noticeResponse, readyForQuery, type ErrorInit, type ErrorSeverity, type NoticeSeverity } from './helpers.js';
export { ScramSha256Client, SCRAM_SHA_256, type ScramClientOptions } from './scram.js';
export { FrameScanner } from './frame-scanner.js';
export { isTransientDatabaseError, RETRYABLE_SQLSTATE } from './transient-errors.js';
