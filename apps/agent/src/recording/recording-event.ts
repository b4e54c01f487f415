import { MAX_RECORDING_EVENT_BYTES, type RecordingEvent } from '@gw/contracts';

/** Cuts an event's data so that its JSON stays within the control plane's per-event limit. */
export function fitEvent(event: RecordingEvent): RecordingEvent {
  if (Buffer.byteLength(JSON.stringify(event.data)) <= MAX_RECORDING_EVENT_BYTES - 1024) return event;
  const data: Record<string, unknown> = { ...event.data, truncated: true };
  // Rows first (the bulkiest), then long strings.
  if (Array.isArray(data['rows'])) data['rows'] = [];
  for (const [key, value] of Object.entries(data)) {
    if (typeof value === 'string' && value.length > 16_384) data[key] = `${value.slice(0, 16_384)}…`;
  }
  if (Buffer.byteLength(JSON.stringify(data)) > MAX_RECORDING_EVENT_BYTES - 1024) {
    return { ...event, data: { truncated: true, note: 'event too large to record' } };
  }
  return { ...event, data };
}

/** Encoded size of each journaled event (its JSON), so that batching for shipping does not serialize it again. */
const encodedSizes = new WeakMap<RecordingEvent, number>();

export function encodedSize(event: RecordingEvent): number {
  return encodedSizes.get(event) ?? Buffer.byteLength(JSON.stringify(event));
}

export function rememberEncodedSize(event: RecordingEvent, bytes: number): void {
  encodedSizes.set(event, bytes);
}

/**
 * The JSON of an event, serialized once, when the journal flushes (never on a session's hot path).
 * An event too large for the control plane is cut first, in place: the same object is what the
 * spool keeps for shipping, so what is shipped is what the journal holds.
 */
export function encodeEvent(event: RecordingEvent): string {
  let json = JSON.stringify(event);
  // Most events are far below the limit: only measure (and cut) the ones that could be above it.
  if (json.length * 3 > MAX_RECORDING_EVENT_BYTES - 1024) {
    const fitted = fitEvent(event);
    if (fitted !== event) {
      event.data = fitted.data;
      json = JSON.stringify(event);
    }
  }
  encodedSizes.set(event, Buffer.byteLength(json));
  return json;
}
