/**
 * A `postgres` tunnel stream, between the control plane's Postgres endpoint and the agent.
 *
 * Control plane -> agent: first the client's StartupMessage (protocol 3.0, re-serialized: `user` is
 * the database role the client asked for, `database` the resource name, every other parameter as
 * the client sent it: application_name, client_encoding, DateStyle, options ...). After it, the
 * client's frontend messages, relayed unchanged.
 *
 * Agent -> control plane: backend messages. The agent authenticates upstream itself (ephemeral
 * role or configured credentials) and then sends AuthenticationOk, the ParameterStatus messages,
 * the upstream BackendKeyData, ReadyForQuery, and everything after. The control plane replaces the
 * BackendKeyData with its own key before the client sees it. When the agent cannot open the
 * upstream session it writes one ErrorResponse (SQLSTATE class 08 or 28, message for the client)
 * and ends the stream.
 */
export const PG_EVENTS = {
  /** CP -> agent: the client sent a CancelRequest for this session (payload `PgCancel`). */
  cancel: 'pg:cancel',
} as const;

export interface PgCancel {
  sessionId: string;
}
