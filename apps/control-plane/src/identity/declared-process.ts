/** Header in which `gw` (or any client) declares its local process; recorded as declared, never trusted. */
export const DECLARED_PROCESS_HEADER = 'gateway-declared-process';

const MAX_HEADER = 2048;
const FIELDS = { command: 256, pid: 16, host: 255, containerId: 128 } as const;

/**
 * `{ process: { command, pid, host, containerId } }` from the header, keeping only those fields as
 * bounded text; `{}` when absent or not a JSON object. It goes into the session's `declared` record,
 * beside the client's other claims about itself, and never into a decision.
 */
export function declaredProcessOf(header: string | string[] | undefined): { process?: Record<string, string> } {
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || text.length > MAX_HEADER) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const out: Record<string, string> = {};
  for (const [field, max] of Object.entries(FIELDS)) {
    const v = (value as Record<string, unknown>)[field];
    if (typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v))) out[field] = String(v).slice(0, max);
  }
  return Object.keys(out).length > 0 ? { process: out } : {};
}
