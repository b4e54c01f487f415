import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** A session's lines in an agent's recording journal (`<spoolDir>/recordings/journal-*.jsonl`), as text. */
export function spooledLines(spoolDir: string, sessionId: string): string {
  const dir = join(spoolDir, 'recordings');
  if (!existsSync(dir)) return '';
  const prefix = `{"sid":${JSON.stringify(sessionId)},`;
  return readdirSync(dir)
    .filter((name) => name.startsWith('journal-'))
    .sort()
    .flatMap((name) => readFileSync(join(dir, name), 'utf8').split('\n').filter((line) => line.startsWith(prefix)))
    .join('\n');
}
