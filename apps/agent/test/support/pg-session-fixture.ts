import { BackendParser, FrontendParser } from '@gw/protocol-postgres';
import pino from 'pino';
import { PolicyHolder } from '../../src/policy/policy-holder.js';
import { ColumnCatalog } from '../../src/protocols/postgres/column-catalog.js';
import type { PgSessionCoreOptions } from '../../src/protocols/postgres/pg-session-core.js';
import { principalFromGrant } from '../../src/protocols/postgres/statement-policy.js';
import type { SessionRecorder } from '../../src/recording/recording-shipper.js';

/** Reads are allowed with emails masked; deletes are forbidden with a reason. */
export const SESSION_POLICY = `
@id("read")
@mask("email:full")
permit (principal, action in Gateway::Action::"sql:read", resource);

@id("no-delete")
@reason("deletes are not allowed")
forbid (principal, action == Gateway::Action::"sql:delete", resource);
`;

export type RecordedEvent = { type: string; data: Record<string, unknown> };

/**
 * A recorder that keeps what the session records; `durability(n)` says when the n-th durable record
 * is on disk (at once unless a test says otherwise).
 */
export function memoryRecorder(durability: (n: number) => Promise<void> = () => Promise.resolve()): { recorder: SessionRecorder; records: RecordedEvent[] } {
  const records: RecordedEvent[] = [];
  const recorder: SessionRecorder = {
    sessionId: 's',
    record: (type, data) => void records.push({ type, data }),
    recordDurable: (type, data) => {
      records.push({ type, data });
      return durability(records.length);
    },
    flushed: () => Promise.resolve(),
  };
  return { recorder, records };
}

/** Everything a session needs but its two sides: the policy above, a workload principal, no database catalog. */
export function sessionOptions(recorder: SessionRecorder): Omit<PgSessionCoreOptions, 'client' | 'server'> {
  const log = pino({ level: 'silent' });
  return {
    frontend: new FrontendParser({ startupDone: true }),
    backend: new BackendParser(),
    policy: new PolicyHolder(() => ({ version: 1, sha256: 'x', text: SESSION_POLICY }), log),
    policyContext: {
      principal: principalFromGrant({ id: 'iss#a', kind: 'workload', issuer: 'iss', subject: 'a' } as never),
      resource: { name: 'crm', type: 'postgres' },
      dbRole: 'app',
      sourceIp: '127.0.0.1',
    },
    catalog: new ColumnCatalog(undefined),
    maskingKey: Buffer.alloc(32, 7),
    recorder,
    sampleRows: 5,
    log,
    onEnd: () => undefined,
  };
}
