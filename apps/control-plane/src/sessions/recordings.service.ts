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
    const events = await this.listByType(sessionId, ['ssh.shell', 'ssh.exec', 'ssh.io']);
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
