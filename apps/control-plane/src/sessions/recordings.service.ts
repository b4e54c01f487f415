import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MAX_RECORDING_EVENT_BYTES, type RecordingAck, type RecordingBatch } from '@gw/contracts';
import { DomainError, DomainErrorCode, NotFoundError } from '../common/domain-error.js';
import { renderAsciicast, terminalChannels } from './asciicast.js';

export interface StoredEvent {
  seq: number;
  at: string;
  type: string;
  data: Record<string, unknown>;
}

/** Sessions whose owning agent is remembered (a session never changes agent). */
const MAX_KNOWN_OWNERS = 10_000;

/** Stores what agents record, idempotently by (session, seq); only the session's own agent may write. */
@Injectable()
export class RecordingsService {
  /** Session id -> agent id, for sessions that exist: saves a query per batch (several per second per session). */
  private readonly owners = new Map<string, string>();

  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /**
   * Several sessions' batches with one insert; one result per batch, in order. A batch that is refused
   * (unknown session, another agent's, an event too large) does not hold up the others.
   */
  async storeMany(agentId: string, batches: readonly RecordingBatch[]): Promise<RecordingAck[]> {
    const results: (RecordingAck | undefined)[] = [];
    const rows: string[] = [];
    const accepted: number[] = [];
    for (const [i, batch] of batches.entries()) {
      const refusal = await this.ownerRefusal(agentId, batch.sessionId);
      const data = refusal ? [] : batch.events.map((e) => JSON.stringify(e.data).replace(/\\u0000/g, '\\ufffd'));
      const tooLarge = batch.events.findIndex((_, j) => Buffer.byteLength(data[j] ?? '') > MAX_RECORDING_EVENT_BYTES);
      results[i] = refusal ?? (tooLarge >= 0 ? { ok: false, error: `event ${batch.events[tooLarge]!.seq} is larger than ${MAX_RECORDING_EVENT_BYTES} bytes`, retry: false } : undefined);
      if (results[i]) continue;
      accepted.push(i);
      // One JSON array of rows for all batches, built from the data serialized once.
      for (const [j, e] of batch.events.entries()) {
        rows.push(`{"sid":${JSON.stringify(batch.sessionId)},"seq":${Number(e.seq)},"at":${JSON.stringify(e.at)},"type":${JSON.stringify(e.type)},"data":${data[j]}}`);
      }
    }
    if (accepted.length === 0) return results as RecordingAck[];
    let inserted: { session_id: string; stored: string }[];
    try {
      // Counted per session in the database: the control plane parses a row per session, not per event.
      inserted = await this.dataSource.query<{ session_id: string; stored: string }[]>(
        `WITH ins AS (
           INSERT INTO session_events (session_id, seq, occurred_at, type, data)
           SELECT e.sid::uuid, e.seq, e.at, e.type, e.data
           FROM jsonb_to_recordset($1::jsonb) AS e(sid text, seq bigint, at timestamptz, type text, data jsonb)
           ON CONFLICT (session_id, seq) DO NOTHING
           RETURNING session_id)
         SELECT session_id, count(*) AS stored FROM ins GROUP BY session_id`,
        [`[${rows.join(',')}]`],
      );
    } catch (error) {
      // A session was deleted (retention) since its owner was remembered: forget the owners, try one by one.
      if ((error as { driverError?: { code?: string } }).driverError?.code !== '23503' || accepted.length === 0) throw error;
      for (const i of accepted) this.owners.delete(batches[i]!.sessionId);
      if (accepted.length === 1) return batches.map((b, i) => results[i] ?? { ok: false, error: `unknown session ${b.sessionId}`, retry: false });
      for (const i of accepted) [results[i]] = await this.storeMany(agentId, [batches[i]!]);
      return results as RecordingAck[];
    }
    const stored = new Map<string, number>();
    for (const row of inserted) stored.set(row.session_id, Number(row.stored));
    for (const i of accepted) results[i] = { ok: true, stored: stored.get(batches[i]!.sessionId) ?? 0 };
    return results as RecordingAck[];
  }

  /** Why a session's batch cannot be stored (for good), or undefined. */
  private async ownerRefusal(agentId: string, sessionId: string): Promise<RecordingAck | undefined> {
    const owner = await this.ownerOf(sessionId);
    if (owner === undefined) return { ok: false, error: `unknown session ${sessionId}`, retry: false };
    if (owner !== agentId) return { ok: false, error: 'session belongs to another agent', retry: false };
    return undefined;
  }

  private async ownerOf(sessionId: string): Promise<string | null | undefined> {
    const known = this.owners.get(sessionId);
    if (known !== undefined) return known;
    const rows = await this.dataSource.query<{ agent_id: string | null }[]>('SELECT agent_id FROM sessions WHERE id = $1', [sessionId]);
    if (rows.length === 0) return undefined;
    const owner = rows[0]?.agent_id ?? null;
    if (owner !== null) {
      if (this.owners.size >= MAX_KNOWN_OWNERS) this.owners.delete(this.owners.keys().next().value!);
      this.owners.set(sessionId, owner);
    }
    return owner;
  }

  async list(sessionId: string, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    const exists = await this.dataSource.query<unknown[]>('SELECT 1 FROM sessions WHERE id = $1', [sessionId]);
    if (exists.length === 0) throw new NotFoundError('session', sessionId);
    const rows = await this.dataSource.query<{ seq: string; occurred_at: Date; type: string; data: Record<string, unknown> }[]>(
      `SELECT seq, occurred_at, type, data FROM session_events WHERE session_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [sessionId, afterSeq, limit],
    );
    return rows.map((r) => ({ seq: Number(r.seq), at: r.occurred_at.toISOString(), type: r.type, data: r.data }));
  }

  /** Every event of a session whose type is one of `types`, in order (for renderings of a whole session). */
  async listByType(sessionId: string, types: readonly string[]): Promise<StoredEvent[]> {
    const all: StoredEvent[] = [];
    let after = -1;
    for (;;) {
      const rows = await this.dataSource.query<{ seq: string; occurred_at: Date; type: string; data: Record<string, unknown> }[]>(
        `SELECT seq, occurred_at, type, data FROM session_events WHERE session_id = $1 AND seq > $2 AND type = ANY($3) ORDER BY seq LIMIT 1000`,
        [sessionId, after, types],
      );
      all.push(...rows.map((r) => ({ seq: Number(r.seq), at: r.occurred_at.toISOString(), type: r.type, data: r.data })));
      if (rows.length < 1000) return all;
      after = Number(rows.at(-1)!.seq);
    }
  }

  /** The asciicast v2 file of an SSH session's terminal (the first shell, else the first command, or `channel`). */
  async asciicast(sessionId: string, channel?: number): Promise<string> {
    const exists = await this.dataSource.query<unknown[]>('SELECT 1 FROM sessions WHERE id = $1', [sessionId]);
    if (exists.length === 0) throw new NotFoundError('session', sessionId);
    const events = await this.listByType(sessionId, ['ssh.shell', 'ssh.exec', 'ssh.io', 'k8s.exec', 'k8s.io']);
    const channels = terminalChannels(events);
    const chosen = channel === undefined ? channels[0] : channels.find((c) => c.channel === channel);
    if (!chosen) {
      throw new DomainError(DomainErrorCode.NotFound, channel === undefined
        ? `session ${sessionId} has no terminal recording (no shell or command ran in it)`
        : `session ${sessionId} has no terminal recording for channel ${channel}`);
    }
    return renderAsciicast(chosen, events);
  }
}
