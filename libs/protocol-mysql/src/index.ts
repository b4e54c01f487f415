export { MysqlProtocolError, MYSQL_PROTOCOL_ERROR_CODES } from './errors.js';
export type { MysqlProtocolErrorCode } from './errors.js';
export { DEFAULT_MYSQL_LIMITS, MAX_PACKET_PAYLOAD } from './limits.js';
export type { MysqlLimits } from './limits.js';
export { MysqlReader } from './reader.js';
export { MysqlWriter } from './writer.js';
export { PacketFramer, encodePacket, packet } from './packets.js';
export type { MysqlPacket } from './packets.js';
export { CAP, STATUS, GATEWAY_CAPABILITIES, REQUIRED_CLIENT_CAPABILITIES, FORMAT_CAPABILITIES } from './capabilities.js';
export {
  encodeAuthSwitch, encodeHandshakeResponse, encodeServerHandshake, encodeSslRequest, isSslRequest, parseAuthSwitch, parseHandshakeResponse,
  parseServerHandshake, parseSslRequest,
} from './handshake.js';
export type { HandshakeResponse, ServerHandshake, SslRequest } from './handshake.js';
export { encodeEof, encodeErr, encodeOk, isEof, isErr, isOk, isOkEof, parseEof, parseErr, parseOk, terminatorStatus } from './responses.js';
export type { ErrPacket, OkPacket } from './responses.js';
export { CACHING_SHA2_PLUGIN, CLEAR_PASSWORD_PLUGIN, NATIVE_PASSWORD_PLUGIN, cachingSha2Encrypted, cachingSha2Response, nativePasswordResponse } from './auth.js';
export { COM, commandName, parseCommand } from './commands.js';
export type { ClientCommand } from './commands.js';
export {
  BINARY_CHARSET, TYPE, UTF8MB4_CHARSET, encodeColumnDefinition, encodeTextRow, parseColumnCount, parseColumnDefinition, parseTextRow,
} from './result-set.js';
export type { ColumnDefinition } from './result-set.js';
export { binaryString, binaryValueText, encodeBinaryRow, parseBinaryRow, parseExecuteParams } from './binary-row.js';
export type { BinaryValue, ExecuteParams } from './binary-row.js';
