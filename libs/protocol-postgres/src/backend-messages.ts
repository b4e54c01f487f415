import type { FormatCode } from './frontend-messages.js';

/** Messages the server sends to the client. Field names follow the PostgreSQL protocol documentation. */

export interface AuthenticationOk {
  readonly kind: 'AuthenticationOk';
}
export interface AuthenticationKerberosV5 {
  readonly kind: 'AuthenticationKerberosV5';
}
export interface AuthenticationCleartextPassword {
  readonly kind: 'AuthenticationCleartextPassword';
}
export interface AuthenticationMD5Password {
  readonly kind: 'AuthenticationMD5Password';
  /** Exactly 4 bytes. */
  readonly salt: Buffer;
}
export interface AuthenticationGSS {
  readonly kind: 'AuthenticationGSS';
}
export interface AuthenticationGSSContinue {
  readonly kind: 'AuthenticationGSSContinue';
  readonly data: Buffer;
}
export interface AuthenticationSSPI {
  readonly kind: 'AuthenticationSSPI';
}
export interface AuthenticationSASL {
  readonly kind: 'AuthenticationSASL';
  readonly mechanisms: readonly string[];
}
export interface AuthenticationSASLContinue {
  readonly kind: 'AuthenticationSASLContinue';
  readonly data: Buffer;
}
export interface AuthenticationSASLFinal {
  readonly kind: 'AuthenticationSASLFinal';
  readonly data: Buffer;
}
export interface ParameterStatus {
  readonly kind: 'ParameterStatus';
  readonly name: string;
  readonly value: string;
}
export interface BackendKeyData {
  readonly kind: 'BackendKeyData';
  readonly processId: number;
  /** 4 bytes in protocol 3.0; up to 256 bytes from protocol 3.2. */
  readonly secretKey: Buffer;
}
/** 'I' idle, 'T' in a transaction block, 'E' in a failed transaction block. */
export type TransactionStatus = 'I' | 'T' | 'E';
export interface ReadyForQuery {
  readonly kind: 'ReadyForQuery';
  readonly status: TransactionStatus;
}
export interface FieldDescription {
  readonly name: string;
  /** 0 when the column is not a plain table column. */
  readonly tableOid: number;
  readonly columnAttr: number;
  readonly typeOid: number;
  /** Negative for variable-width types. */
  readonly typeSize: number;
  readonly typeModifier: number;
  readonly format: FormatCode;
}
export interface RowDescription {
  readonly kind: 'RowDescription';
  readonly fields: readonly FieldDescription[];
}
export interface DataRow {
  readonly kind: 'DataRow';
  /** Text or binary column values as zero-copy views; null is SQL NULL. */
  readonly values: readonly (Buffer | null)[];
}
export interface CommandComplete {
  readonly kind: 'CommandComplete';
  /** e.g. "SELECT 3", "INSERT 0 1", "COPY 5". */
  readonly tag: string;
}
export interface EmptyQueryResponse {
  readonly kind: 'EmptyQueryResponse';
}

/** ErrorResponse / NoticeResponse fields, by their documented single-byte codes. */
export interface NoticeFields {
  /** S: localized severity (ERROR, FATAL, PANIC, WARNING, NOTICE, DEBUG, INFO, LOG). */
  readonly severity?: string;
  /** V: severity, never localized. */
  readonly severityNonLocalized?: string;
  /** C: SQLSTATE code. */
  readonly code?: string;
  /** M: primary message. */
  readonly message?: string;
  /** D */
  readonly detail?: string;
  /** H */
  readonly hint?: string;
  /** P: 1-based character index into the query string. */
  readonly position?: string;
  /** p */
  readonly internalPosition?: string;
  /** q */
  readonly internalQuery?: string;
  /** W */
  readonly where?: string;
  /** s */
  readonly schema?: string;
  /** t */
  readonly table?: string;
  /** c */
  readonly column?: string;
  /** d */
  readonly dataType?: string;
  /** n */
  readonly constraint?: string;
  /** F */
  readonly file?: string;
  /** L */
  readonly line?: string;
  /** R */
  readonly routine?: string;
  /** Field codes this version does not know, kept so that a re-encoded message loses nothing. */
  readonly unknown?: readonly { readonly code: string; readonly value: string }[];
}

/** Single-byte field code for each named NoticeFields property, in the order the server sends them. */
export const NOTICE_FIELD_CODES = {
  severity: 'S',
  severityNonLocalized: 'V',
  code: 'C',
  message: 'M',
  detail: 'D',
  hint: 'H',
  position: 'P',
  internalPosition: 'p',
  internalQuery: 'q',
  where: 'W',
  schema: 's',
  table: 't',
  column: 'c',
  dataType: 'd',
  constraint: 'n',
  file: 'F',
  line: 'L',
  routine: 'R',
} as const satisfies Record<Exclude<keyof NoticeFields, 'unknown'>, string>;

export interface ErrorResponse {
  readonly kind: 'ErrorResponse';
  readonly fields: NoticeFields;
}
export interface NoticeResponse {
  readonly kind: 'NoticeResponse';
  readonly fields: NoticeFields;
}
export interface ParseComplete {
  readonly kind: 'ParseComplete';
}
export interface BindComplete {
  readonly kind: 'BindComplete';
}
export interface CloseComplete {
  readonly kind: 'CloseComplete';
}
export interface NoData {
  readonly kind: 'NoData';
}
export interface ParameterDescription {
  readonly kind: 'ParameterDescription';
  readonly typeOids: readonly number[];
}
export interface PortalSuspended {
  readonly kind: 'PortalSuspended';
}
interface CopyResponseBody {
  /** Overall format: 0 text, 1 binary. */
  readonly format: FormatCode;
  readonly columnFormats: readonly FormatCode[];
}
export interface CopyInResponse extends CopyResponseBody {
  readonly kind: 'CopyInResponse';
}
export interface CopyOutResponse extends CopyResponseBody {
  readonly kind: 'CopyOutResponse';
}
export interface CopyBothResponse extends CopyResponseBody {
  readonly kind: 'CopyBothResponse';
}
export interface BackendCopyData {
  readonly kind: 'CopyData';
  readonly data: Buffer;
}
export interface BackendCopyDone {
  readonly kind: 'CopyDone';
}
export interface NotificationResponse {
  readonly kind: 'NotificationResponse';
  readonly processId: number;
  readonly channel: string;
  readonly payload: string;
}
export interface FunctionCallResponse {
  readonly kind: 'FunctionCallResponse';
  readonly result: Buffer | null;
}
export interface NegotiateProtocolVersion {
  readonly kind: 'NegotiateProtocolVersion';
  /** Newest minor protocol version the server supports for the requested major version. */
  readonly newestMinorVersion: number;
  /** Startup options (_pq_.*) the server did not recognize. */
  readonly unrecognizedOptions: readonly string[];
}
/** The single unframed byte a server answers an SSLRequest ('S'/'N') or GSSENCRequest ('G'/'N') with. */
export interface EncryptionResponse {
  readonly kind: 'EncryptionResponse';
  readonly answer: 'S' | 'G' | 'N';
}

export type BackendMessage =
  | AuthenticationOk
  | AuthenticationKerberosV5
  | AuthenticationCleartextPassword
  | AuthenticationMD5Password
  | AuthenticationGSS
  | AuthenticationGSSContinue
  | AuthenticationSSPI
  | AuthenticationSASL
  | AuthenticationSASLContinue
  | AuthenticationSASLFinal
  | ParameterStatus
  | BackendKeyData
  | ReadyForQuery
  | RowDescription
  | DataRow
  | CommandComplete
  | EmptyQueryResponse
  | ErrorResponse
  | NoticeResponse
  | ParseComplete
  | BindComplete
  | CloseComplete
  | NoData
  | ParameterDescription
  | PortalSuspended
  | CopyInResponse
  | CopyOutResponse
  | CopyBothResponse
  | BackendCopyData
  | BackendCopyDone
  | NotificationResponse
  | FunctionCallResponse
  | NegotiateProtocolVersion
  | EncryptionResponse;
