/** Why a statement could not be classified. Every code means "deny": the caller must not forward the text. */
export type SqlClassificationErrorCode =
  | 'PARSER_NOT_LOADED'
  | 'PARSE_ERROR'
  | 'UNKNOWN_NODE'
  | 'MALFORMED_TREE'
  | 'LIMIT_EXCEEDED'
  | 'UNKNOWN_PREPARED_STATEMENT'
  /** A function that runs SQL (or reads a table) given as text got something other than a literal. */
  | 'DYNAMIC_SQL';

export class SqlClassificationError extends Error {
  override readonly name = 'SqlClassificationError';

  constructor(
    readonly code: SqlClassificationErrorCode,
    message: string,
    /** Byte offset of a parse error in the statement text, when the parser reported one. */
    readonly cursorPosition?: number,
  ) {
    super(message);
  }
}
