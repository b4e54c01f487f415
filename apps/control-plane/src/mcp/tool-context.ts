import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '@gw/identity';
import { CONNECT_CLOSE } from '@gw/contracts';
import type { DeclaredClient } from './mcp-sessions.store.js';

/** Who is calling and through what: one per HTTP request to /mcp. */
export interface ToolContext {
  principal: Principal;
  sourceAddress: string | null;
  /** Null for requests outside a session (a client that never initialized). */
  mcpSessionId: string | null;
  /** What the MCP client declared at `initialize`: recorded as declared, never trusted. */
  client: DeclaredClient;
}

/** Why a tool call did not do what was asked, in words a model can act on. */
export enum ToolRefusalKind {
  Denied = 'denied',
  ApprovalRequired = 'approval_required',
  UnknownResource = 'unknown_resource',
  Offline = 'resource_offline',
  ResourceError = 'resource_error',
  NotFound = 'not_found',
  Limit = 'limit_reached',
  Invalid = 'invalid_request',
}

export class ToolRefusal extends Error {
  constructor(readonly kind: ToolRefusalKind, message: string, readonly details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ToolRefusal';
  }
}

/** A refused session open (SessionBroker's close codes) as the tool's refusal. */
export function refusalForCloseCode(closeCode: number, message: string, decision?: { effect: string; policies: string[]; reasons: string[] }): ToolRefusal {
  switch (closeCode) {
    case CONNECT_CLOSE.forbidden:
      return new ToolRefusal(ToolRefusalKind.Denied, message, decision ? { decision } : {});
    case CONNECT_CLOSE.unknownResource:
      return new ToolRefusal(ToolRefusalKind.UnknownResource, message);
    case CONNECT_CLOSE.resourceOffline:
      return new ToolRefusal(ToolRefusalKind.Offline, message);
    default:
      return new ToolRefusal(ToolRefusalKind.ResourceError, message);
  }
}

/** A successful result: the structured value, and the same as JSON text for clients that read only text. */
export function okResult(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }], structuredContent: value };
}

/** A tool error (`isError`): the message first, so a model reads why and what to do. */
export function errorResult(kind: string, message: string, details: Record<string, unknown> = {}): CallToolResult {
  const value = { error: kind, message, ...details };
  return { isError: true, content: [{ type: 'text', text: `${message}\n${JSON.stringify(value, null, 2)}` }], structuredContent: value };
}

/** `declared` of the session record: what the MCP client said it is, marked as declared. */
export function declaredClient(ctx: ToolContext, tool: string): Record<string, unknown> {
  return {
    client: 'mcp',
    applicationName: `mcp:${(ctx.client.name ?? 'unknown').slice(0, 200)}`,
    mcp: { tool, sessionId: ctx.mcpSessionId, clientName: ctx.client.name, clientVersion: ctx.client.version, declared: true },
  };
}
