/** Messages a client sends to the server. Field names follow the PostgreSQL protocol documentation. */

export const PROTOCOL_3_0 = 196_608; // (3 << 16) | 0
export const SSL_REQUEST_CODE = 80_877_103;
export const GSSENC_REQUEST_CODE = 80_877_104;
export const CANCEL_REQUEST_CODE = 80_877_102;

/** Wire format of a value or column: 0 text, 1 binary. Other codes are refused by the parsers. */
export type FormatCode = 0 | 1;

export interface SSLRequest {
  readonly kind: 'SSLRequest';
}
export interface GSSENCRequest {
  readonly kind: 'GSSENCRequest';
}
export interface CancelRequest {
  readonly kind: 'CancelRequest';
  readonly processId: number;
  /** 4 bytes in protocol 3.0; up to 256 bytes from protocol 3.2. */
  readonly secretKey: Buffer;
}
export interface StartupMessage {
  readonly kind: 'StartupMessage';
  readonly majorVersion: 3;
  /** A client may ask for a newer minor version; the gateway answers with NegotiateProtocolVersion. */
  readonly minorVersion: number;
  /** user, database, application_name, options, replication, client_encoding, _pq_.* ... in wire order. */
  readonly parameters: ReadonlyMap<string, string>;
}

export interface Query {
  readonly kind: 'Query';
  readonly sql: string;
}
export interface Parse {
  readonly kind: 'Parse';
  /** Prepared statement name; '' is the unnamed statement. */
  readonly statement: string;
  readonly sql: string;
  /** Parameter type OIDs; 0 leaves the type to the server. */
  readonly paramTypes: readonly number[];
}
export interface Bind {
  readonly kind: 'Bind';
  readonly portal: string;
  readonly statement: string;
  /** Empty: all text; one entry: applies to all; else one per parameter. */
  readonly paramFormats: readonly FormatCode[];
  /** null is SQL NULL (length -1), distinct from an empty value. */
  readonly params: readonly (Buffer | null)[];
  readonly resultFormats: readonly FormatCode[];
}
export interface Describe {
  readonly kind: 'Describe';
  /** 'S' prepared statement, 'P' portal. */
  readonly target: 'S' | 'P';
  readonly name: string;
}
export interface Execute {
  readonly kind: 'Execute';
  readonly portal: string;
  /** 0 means no limit. */
  readonly maxRows: number;
}
export interface Close {
  readonly kind: 'Close';
  readonly target: 'S' | 'P';
  readonly name: string;
}
export interface Sync {
  readonly kind: 'Sync';
}
export interface Flush {
  readonly kind: 'Flush';
}
export interface Terminate {
  readonly kind: 'Terminate';
}
export interface FrontendCopyData {
  readonly kind: 'CopyData';
  readonly data: Buffer;
}
export interface FrontendCopyDone {
  readonly kind: 'CopyDone';
}
export interface CopyFail {
  readonly kind: 'CopyFail';
  readonly message: string;
}
export interface FunctionCall {
  readonly kind: 'FunctionCall';
  readonly functionOid: number;
  readonly argFormats: readonly FormatCode[];
  readonly args: readonly (Buffer | null)[];
  readonly resultFormat: FormatCode;
}
/**
 * 'p' is a PasswordMessage, SASLInitialResponse or SASLResponse depending on which authentication
 * request the server sent last; only the connection knows, so the body stays raw. Decode it with
 * decodePassword / decodeSASLInitialResponse / decodeSASLResponse.
 */
export interface AuthenticationResponse {
  readonly kind: 'AuthenticationResponse';
  readonly data: Buffer;
}

export type StartupPacket = SSLRequest | GSSENCRequest | CancelRequest | StartupMessage;
export type FrontendMessage =
  | StartupPacket
  | Query
  | Parse
  | Bind
  | Describe
  | Execute
  | Close
  | Sync
  | Flush
  | Terminate
  | FrontendCopyData
  | FrontendCopyDone
  | CopyFail
  | FunctionCall
  | AuthenticationResponse;

/** A parsed message carries its complete frame so an unmodified message can be forwarded as is. */
export type Parsed<M> = M & { readonly raw: Buffer };
