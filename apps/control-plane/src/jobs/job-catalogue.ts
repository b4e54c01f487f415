/**
 * The one catalogue of background jobs: producers and workers both import it, so a payload shape
 * cannot drift between them. Every job is idempotent (its handler re-reads the row and does
 * nothing if the work was done), and its id is derived from the row, so scheduling twice is harmless.
 */
export const ACCESS_TIMERS_QUEUE = 'access-timers';

export interface JobPayloads {
  /** At a grant's `expires_at`: end its sessions, audit, announce. */
  'grant-expiry': { grantId: string };
  /** At an approval's `expires_at`: mark it expired if still pending. */
  'approval-timeout': { approvalId: string };
  /** Repeating: end idle MCP sessions, delete MCP session state and held-call results past retention. */
  'mcp-housekeeping': Record<string, never>;
}

export type JobName = keyof JobPayloads;

/** BullMQ refuses ':' in custom ids. */
export function jobIdFor<N extends JobName>(name: N, payload: JobPayloads[N]): string {
  if ('grantId' in payload) return `${name}-${payload.grantId}`;
  if ('approvalId' in payload) return `${name}-${payload.approvalId}`;
  return name;
}

/** Thrown by a handler that ran before its time: BullMQ retries the job with backoff. */
export class NotDueYet extends Error {
  constructor(what: string, due: Date) {
    super(`${what} is not due until ${due.toISOString()}`);
  }
}
