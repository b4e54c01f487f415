import { z } from 'zod';

/**
 * Session recordings travel agent -> control plane as batches on the `rec` event, with an ack.
 * The agent spools every event to disk first and deletes it only once acknowledged; the control
 * plane stores idempotently by (session id, seq), so a batch sent twice is stored once.
 */
export const RECORDING_EVENT = 'rec';
export const MAX_RECORDING_BATCH = 500;
/** One event's JSON after encoding; larger events must be cut by the agent. */
export const MAX_RECORDING_EVENT_BYTES = 256 * 1024;
/** A batch's events, JSON-encoded, stay under this (the agent cuts batches by size as well as count). */
export const MAX_RECORDING_BATCH_BYTES = 1024 * 1024;

export const recordingEventSchema = z.strictObject({
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  at: z.iso.datetime({ offset: true }),
  type: z.string().regex(/^[a-z][a-z0-9_.:-]{0,63}$/),
  data: z.record(z.string(), z.unknown()),
});
export type RecordingEvent = z.output<typeof recordingEventSchema>;

export const recordingBatchSchema = z.strictObject({
  sessionId: z.uuid(),
  events: z.array(recordingEventSchema).min(1).max(MAX_RECORDING_BATCH),
});
export type RecordingBatch = z.output<typeof recordingBatchSchema>;

export type RecordingAck = { ok: true; stored: number } | { ok: false; error: string; retry: boolean };

/**
 * Batches of several sessions in one message, on `recs`, once the control plane said in its hello
 * ack that it takes them (`recordingBatches`): one message and one insert for many sessions. The
 * batches' events together stay under MAX_RECORDING_BATCH_BYTES; the ack has one result per batch,
 * in order.
 */
export const RECORDING_BATCHES_EVENT = 'recs';
export const MAX_RECORDING_SESSIONS_PER_MESSAGE = 200;

export const recordingBatchesSchema = z.strictObject({
  batches: z.array(recordingBatchSchema).min(1).max(MAX_RECORDING_SESSIONS_PER_MESSAGE),
});
export type RecordingBatches = z.output<typeof recordingBatchesSchema>;

export type RecordingBatchesAck = { ok: true; results: RecordingAck[] } | { ok: false; error: string; retry: boolean };
