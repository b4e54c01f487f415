import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MAX_RECORDING_EVENT_BYTES, type RecordingAck, type RecordingBatch } from '@gw/contracts';
import { DomainError, DomainErrorCode, NotFoundError } from '../common/domain-error.js';
import { renderAsciicast, terminalChannels } from './asciicast.js';
import { SessionEventChunks, jsonbSafe, type ChunkInput, type StoredEvent } from './session-event-chunks.js';

export type { StoredEvent } from './session-event-chunks.js';

/** Sessions whose owning agent is remembered (a session never changes agent). */
const MAX_KNOWN_OWNERS = 10_000;

/** Stores what agents record, idempotently by (session, seq); only the session's own agent may write. */
@Injectable()
export class RecordingsService {
  /** Session id -> agent id, for sessions that exist: saves a query per batch (several per second per session). */
  private readonly owners = new Map<string, string>();

  private readonly chunks: SessionEventChunks;

  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {
    this.chunks = new SessionEventChunks(dataSource);
  }

  /**
   * Several sessions' batches with one insert, each batch one chunk; one result per batch, in order. A
   * batch that is refused (unknown session, another agent's, an event too large) does not hold up the
   * others. Each event is serialized once, here, and stored as that JSON.
   */
  async storeMany(agentId: string, batches: readonly RecordingBatch[]): Promise<RecordingAck[]> {
    const results: (RecordingAck | undefined)[] = [];
    const chunks: ChunkInput[] = [];
    const accepted: number[] = [];
    for (const [i, batch] of batches.entries()) {
      const refusal = await this.ownerRefusal(agentId, batch.sessionId);
      const chunk = refusal ?? chunkOf(batch);
      if ('ok' in chunk) {
        results[i] = chunk;
        continue;
      }
      accepted.push(i);
      chunks.push(chunk);
    }
    if (accepted.length === 0) return results as RecordingAck[];
    let stored: number[];
    try {
      stored = await this.chunks.store(chunks);
    } catch (error) {
      // A session was deleted (retention) since its owner was remembered: forget the owners, try one by one.
      if ((error as { driverError?: { code?: string } }).driverError?.code !== '23503') throw error;
      for (const i of accepted) this.owners.delete(batches[i]!.sessionId);
      if (accepted.length === 1) return batches.map((b, i) => results[i] ?? { ok: false, error: `unknown session ${b.sessionId}`, retry: false });
      for (const i of accepted) [results[i]] = await this.storeMany(agentId, [batches[i]!]);
      return results as RecordingAck[];
    }
    accepted.forEach((i, k) => (results[i] = { ok: true, stored: stored[k]! }));
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
    return this.chunks.page(sessionId, afterSeq, limit);
  }

  /** Every event of a session whose type is one of `types`, in order (for renderings of a whole session). */
  listByType(sessionId: string, types: readonly string[]): Promise<StoredEvent[]> {
    return this.chunks.ofTypes(sessionId, types);
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

/**
 * A batch as one chunk: its events in seq order (each seq once), each serialized once; or the refusal
 * of a batch holding an event whose data is larger than the per-event limit.
 */
function chunkOf(batch: RecordingBatch): ChunkInput | RecordingAck {
  const events = [...batch.events].sort((a, b) => a.seq - b.seq).filter((e, k, all) => k === 0 || all[k - 1]!.seq !== e.seq);
  const json: string[] = [];
  for (const e of events) {
    const text = JSON.stringify({ seq: e.seq, at: e.at, type: e.type, data: e.data });
    // A UTF-16 unit is at most 3 UTF-8 bytes: only events that could be too large are measured.
    if (text.length * 3 > MAX_RECORDING_EVENT_BYTES && Buffer.byteLength(JSON.stringify(e.data)) > MAX_RECORDING_EVENT_BYTES) {
      return { ok: false, error: `event ${e.seq} is larger than ${MAX_RECORDING_EVENT_BYTES} bytes`, retry: false };
    }
    json.push(jsonbSafe(text));
  }
  return { sessionId: batch.sessionId, seqs: events.map((e) => e.seq), json };
}
