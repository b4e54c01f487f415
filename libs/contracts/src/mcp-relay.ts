/**
 * Messages the agent adds to an `mcp` tunnel stream for the control plane's `/mcp/<resource>` relay,
 * beside the JSON-RPC messages of the session. They are notifications in a method namespace that
 * MCP does not use; the relay consumes them and never passes them to the client, and the agent never
 * relays a server's message in that namespace.
 */
export const MCP_GATEWAY_METHOD_PREFIX = 'notifications/gateway/';

/** A tool call that policy held for approval: held, then run once when approved (or refused). */
export const MCP_HELD_CALL_METHOD = `${MCP_GATEWAY_METHOD_PREFIX}held_call`;

export type McpHeldCallReport =
  | { approvalId: string; state: 'held'; tool: string }
  /** The approved call ran: its answer as the client would have seen it (masked, cut to the limits). */
  | { approvalId: string; state: 'completed'; result: Record<string, unknown> }
  /** It did not run (denied, expired, session ended) or the server failed it: `error` names which. */
  | { approvalId: string; state: 'failed'; error: string; message: string; result?: Record<string, unknown> };

/** The agent's last line on a stream whose server went away: why, so the relay can tell the client. */
export const MCP_SESSION_ENDED_METHOD = `${MCP_GATEWAY_METHOD_PREFIX}session_ended`;
export interface McpSessionEndedReport {
  reason: string;
}
