import { EventEmitter } from 'node:events';
import { serializeFrontend } from '@gw/protocol-postgres';
import { loadSqlParser } from '@gw/sql';
import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryRecorder, sessionOptions } from '../../../test/support/pg-session-fixture.js';
import type { HoldForApproval } from '../../approvals/approval-client.js';
import { PolicyHolder } from '../../policy/policy-holder.js';
import { PgSessionCore, type ClientPort, type ServerPort } from './pg-session-core.js';

/**
 * A statement held at Bind: the approval releases exactly the bound values, so the approver is shown
 * them, binary-format values included (as their bytes, not only their length).
 */
const POLICY = `
@id("deletes-need-approval") @approval("required")
permit (principal, action == Gateway::Action::"sql:delete", resource);
`;

function port(): ClientPort & ServerPort & { out: Buffer[] } {
  const events = new EventEmitter();
  const p = {
    out: [] as Buffer[], destroyed: false, writableEnded: false,
    write: (bytes: Buffer) => p.out.push(Buffer.from(bytes)) > 0,
    cork: () => undefined, uncork: () => undefined, end: () => undefined, destroy: () => undefined, pause: () => undefined, resume: () => undefined,
    once: (event: 'drain', listener: () => void) => events.once(event, listener),
  };
  return p;
}

describe('Postgres: a statement held at Bind', () => {
  beforeAll(async () => {
    await loadSqlParser();
  });

  it('shows the approver a binary parameter\'s bytes', async () => {
    const held: (Record<string, unknown> | undefined)[] = [];
    const holdForApproval: HoldForApproval = (_subject, _requirement, hooks) => {
      held.push(hooks.detail);
      return new Promise(() => undefined);
    };
    const { recorder } = memoryRecorder();
    const core = new PgSessionCore({
      ...sessionOptions(recorder),
      policy: new PolicyHolder(() => ({ version: 1, sha256: 'x', text: POLICY }), pino({ level: 'silent' })),
      holdForApproval, client: port(), server: port(),
    });
    core.start();
    const id = Buffer.alloc(8);
    id.writeBigInt64BE(42n);
    core.clientBytes(Buffer.concat([
      serializeFrontend({ kind: 'Parse', statement: '', sql: 'DELETE FROM orders WHERE id = $1', paramTypes: [20] }),
      serializeFrontend({ kind: 'Bind', portal: '', statement: '', paramFormats: [1], params: [id], resultFormats: [] }),
    ]));
    await new Promise((resolve) => setImmediate(resolve));
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({ text: 'DELETE FROM orders WHERE id = $1', params: ['<binary 8 bytes: 0x000000000000002a>'] });
  });
});
