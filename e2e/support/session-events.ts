import { expect } from 'vitest';
import type { Stack } from './stack.js';

export interface SessionEvent {
  seq: number;
  type: string;
  data: Record<string, any>;
}

/** The newest session on `resource` (as the admin sees it). */
export async function latestSession(stack: Stack, resource = 'box'): Promise<string> {
  return (await stack.cp.request('GET', `/api/v1/sessions?resource=${resource}`, { token: stack.admin })).body.items[0].id as string;
}

/** A session's recorded events, polled until `until` holds (the agent ships recordings asynchronously). */
export async function sessionEvents(stack: Stack, id: string, until: (events: SessionEvent[]) => boolean, timeoutMs = 10_000): Promise<SessionEvent[]> {
  let events: SessionEvent[] = [];
  await expect
    .poll(async () => {
      events = (await stack.cp.request('GET', `/api/v1/sessions/${id}/events?limit=1000`, { token: stack.admin })).body.items as SessionEvent[];
      return until(events);
    }, { timeout: timeoutMs })
    .toBe(true);
  return events;
}
