import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export type HeldCallStatus = 'held' | 'completed' | 'failed';

export interface HeldCall {
  approvalId: string;
  principalId: string;
  tool: string;
  resource: string;
  sessionId: string;
  status: HeldCallStatus;
  /** The tool's result once the approved statement or command ran (masked like any result), or why it could not. */
  result: Record<string, unknown> | null;
}

interface Row {
  approval_id: string;
  principal_id: string;
  tool: string;
  resource: string;
  session_id: string;
  status: HeldCallStatus;
  result: Record<string, unknown> | null;
}

/**
 * Tool calls that policy held for approval. The statement or command waits in the agent on the
 * session that made it (served by the replica that took the call); when it has run, or can no longer
 * run, that replica stores the outcome here, so `wait_for_approval` on any replica can answer.
 * A held call is bound to the principal that made it: nobody else can read or wait for it.
 */
@Injectable()
export class HeldCallsStore {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async hold(call: { approvalId: string; principalId: string; mcpSessionId: string | null; tool: string; resource: string; sessionId: string }): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO mcp_held_calls (approval_id, principal_id, mcp_session_id, tool, resource, session_id, status)
       VALUES ($1, $2, $3, $4, $5, $6, 'held')`,
      [call.approvalId, call.principalId, call.mcpSessionId, call.tool, call.resource, call.sessionId],
    );
  }

  /** Stores the outcome once; a call already finished keeps its first outcome. */
  async finish(approvalId: string, status: Exclude<HeldCallStatus, 'held'>, result: Record<string, unknown>): Promise<void> {
    await this.dataSource.query(
      `UPDATE mcp_held_calls SET status = $2, result = $3, finished_at = now() WHERE approval_id = $1 AND status = 'held'`,
      [approvalId, status, JSON.stringify(result)],
    );
  }

  async find(approvalId: string, principalId: string): Promise<HeldCall | null> {
    const rows = await this.dataSource.query<Row[]>(
      `SELECT approval_id, principal_id, tool, resource, session_id, status, result FROM mcp_held_calls WHERE approval_id = $1 AND principal_id = $2`,
      [approvalId, principalId],
    );
    const r = rows[0];
    if (!r) return null;
    return { approvalId: r.approval_id, principalId: r.principal_id, tool: r.tool, resource: r.resource, sessionId: r.session_id, status: r.status, result: r.result };
  }
}
