import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { MASK_ENTITIES, Masker } from '@gw/masking';
import type { ToolOutcome } from './tool-results.js';

/** Longest argument or message text kept in a tool-call event (the statement itself is in the resource session). */
const MAX_TEXT = 4096;
/** Result fields that say what happened without carrying the data itself (rows, output). */
const SUMMARY_FIELDS = ['error', 'message', 'rowCount', 'command', 'truncated', 'truncatedBy', 'exitStatus', 'signal', 'sqlstate', 'approvalId', 'expiresAt', 'status'] as const;

export interface ToolCallRecord {
  tool: string;
  arguments: Record<string, unknown>;
  result: CallToolResult;
  outcome: ToolOutcome;
  durationMs: number;
  /** What the tool noted (resource session id, approval id, access request id). */
  notes: Record<string, unknown>;
}

/**
 * One tool call as an event of its MCP session: name, arguments, decision, result summary and
 * duration. SQL parameters are values a caller binds (customer e-mails, card numbers): they are never
 * kept here (the resource session records them masked by its own policy); every other text has its
 * recognized entities masked in full, since no resource policy applies at this level.
 */
export class ToolCallEvents {
  private readonly masker: Masker;

  constructor(key: Uint8Array) {
    this.masker = new Masker({ entities: MASK_ENTITIES.map((entity) => ({ entity, style: 'full' as const })), columns: [] }, { key });
  }

  event(call: ToolCallRecord): Record<string, unknown> {
    const value = (call.result.structuredContent ?? {}) as Record<string, unknown>;
    const summary: Record<string, unknown> = {};
    for (const field of SUMMARY_FIELDS) if (value[field] !== undefined) summary[field] = this.scrub(value[field]);
    if (Array.isArray(value.resources)) summary.resources = value.resources.length;
    if (Array.isArray(value.tables)) summary.tables = value.tables.length;
    const approval = value.approval as { id?: string; status?: string } | undefined;
    if (approval?.id) summary.approval = { id: approval.id, status: approval.status };
    return {
      tool: call.tool,
      arguments: this.recordedArguments(call.arguments),
      outcome: call.outcome,
      decision: decisionOf(call.outcome, value),
      isError: call.result.isError === true,
      result: summary,
      durationMs: call.durationMs,
      ...call.notes,
    };
  }

  private recordedArguments(args: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(args)) {
      out[key] = key === 'params' && Array.isArray(v) ? v.map((p) => (p === null ? null : '<masked>')) : this.scrub(v);
    }
    return out;
  }

  private scrub(v: unknown): unknown {
    if (typeof v === 'string') return this.masker.maskEntities(v.length > MAX_TEXT ? `${v.slice(0, MAX_TEXT)}…[cut at ${MAX_TEXT} characters]` : v);
    if (Array.isArray(v)) return v.slice(0, 100).map((x) => this.scrub(x));
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).slice(0, 100).map(([k, x]) => [k, this.scrub(x)]));
    return v;
  }
}

/** The policy decision as the result states it, else as the outcome implies; null where no policy was asked (offline, unknown resource). */
function decisionOf(outcome: ToolOutcome, value: Record<string, unknown>): Record<string, unknown> | null {
  const stated = value.decision as { effect?: string } | undefined;
  if (stated?.effect) return stated;
  switch (outcome) {
    case 'success':
      return { effect: 'allow' };
    case 'held':
      return { effect: 'require_approval' };
    case 'denied':
      return { effect: 'deny' };
    case 'failure':
      return null;
  }
}
