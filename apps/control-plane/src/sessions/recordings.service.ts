import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MAX_RECORDING_EVENT_BYTES, type RecordingAck, type RecordingBatch } from '@gw/contracts';
import { NotFoundError } from '../common/domain-error.js';

export interface StoredEvent {
  seq: number;
  at: string;
  type: string;
  data: Record<string, unknown>;
}

/** Stores what agents record, idempotently by (session, seq); only the session's own agent may write. */
@Injectable()
export class RecordingsService {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async store(agentId: string, batch: RecordingBatch): Promise<RecordingAck> {
    const owner = await this.dataSource.query<{ agent_id: string | null }[]>('SELECT agent_id FROM sessions WHERE id = $1', [batch.sessionId]);
    if (owner.length === 0) return { ok: false, error: `unknown session ${batch.sessionId}`, retry: false };
    if (owner[0]?.agent_id !== agentId) return { ok: false, error: 'session belongs to another agent', retry: false };
    const encoded = batch.events.map((e) => ({ ...e, json: JSON.stringify(e.data).replace(/\\u0000/g, '\\ufffd') }));
    const tooLarge = encoded.find((e) => Buffer.byteLength(e.json) > MAX_RECORDING_EVENT_BYTES);
    if (tooLarge) return { ok: false, error: `event ${tooLarge.seq} is larger than ${MAX_RECORDING_EVENT_BYTES} bytes`, retry: false };
    const result = await this.dataSource.query<[unknown[], number]>(
      `INSERT INTO session_events (session_id, seq, occurred_at, type, data)
       SELECT $1, e.seq, e.at, e.type, e.data
       FROM jsonb_to_recordset($2::jsonb) AS e(seq bigint, at timestamptz, type text, data jsonb)
       ON CONFLICT (session_id, seq) DO NOTHING`,
      [batch.sessionId, JSON.stringify(encoded.map((e) => ({ seq: e.seq, at: e.at, type: e.type, data: JSON.parse(e.json) as unknown })))],
    );
    return { ok: true, stored: result[1] ?? 0 };
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
}
