import { CAP, COM, GATEWAY_CAPABILITIES, TYPE, packet } from '@gw/protocol-mysql';
import { MysqlClassifier } from '@gw/sql-mysql';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { memoryRecorder } from '../../../test/support/pg-session-fixture.js';
import type { HoldForApproval } from '../../approvals/approval-client.js';
import { PolicyHolder } from '../../policy/policy-holder.js';
import { StatementGate } from '../postgres/statement-gate.js';
import { StatementRecording } from '../postgres/statement-recording.js';
import { MysqlSessionCore } from './mysql-session-core.js';

/*
 * A prepared statement's execution held for approval: the approver approves the statement WITH the
 * values it binds, so the approval shows them (Postgres holds at Bind with its parameters alike).
 */
const POLICY = `
@id("writes-need-approval") @approval("required")
permit (principal, action == Gateway::Action::"sql:update", resource);
`;
const POLICY_HOLDER = new PolicyHolder(() => ({ version: 1, sha256: 'x', text: POLICY }), pino({ level: 'silent' }));
const CLASSIFIER = new MysqlClassifier();

function session() {
  const { recorder } = memoryRecorder();
  const toServer: Buffer[] = [];
  const held: { subject: Record<string, unknown>; detail: Record<string, unknown> | undefined }[] = [];
  const hold: HoldForApproval = (subject, _requirement, hooks) => {
    held.push({ subject, detail: hooks.detail });
    return new Promise(() => undefined);
  };
  const gate = new StatementGate(
    POLICY_HOLDER,
    { principal: { id: 'p', kind: 'workload', issuer: 'i', subject: 's', roles: [], groups: [], gatewayRoles: [] }, resource: { name: 'db', type: 'mysql', labels: {} }, dbRole: 'app', sourceIp: '127.0.0.1' },
    hold,
    new AbortController().signal,
    'mysql',
  );
  const core = new MysqlSessionCore({
    toClient: () => true, toServer: (b) => toServer.push(Buffer.from(b)) > 0,
    pauseClient: () => undefined, resumeClient: () => undefined, pauseServer: () => undefined, resumeServer: () => undefined,
    gate, classifier: CLASSIFIER, recording: new StatementRecording(recorder, Buffer.alloc(32, 7), 10, 'mysql.statement'),
    maskingKey: Buffer.alloc(32, 7), capabilities: GATEWAY_CAPABILITIES & ~CAP.SSL & ~CAP.DEPRECATE_EOF, sampleRows: 10,
    kill: () => Promise.resolve({ ok: false, code: 1094, message: 'Unknown thread id' }),
    fail: () => undefined,
  });
  return { core, toServer, held };
}

const u32 = (n: number) => Buffer.from([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]);
const settle = () => new Promise((resolve) => setImmediate(resolve));
const lenenc = (s: string) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s)]);
/** Prepares `UPDATE accounts SET owner = ? WHERE id = ?` (statement 1, two parameters). */
async function prepared() {
  const s = session();
  s.core.clientBytes(packet(Buffer.from('\x16UPDATE accounts SET owner = ? WHERE id = ?', 'latin1'), 0));
  await settle();
  const paramDef = Buffer.from([3, 0x64, 0x65, 0x66, 0, 0, 0, 1, 0x3f, 0, 0x0c, 0x3f, 0, 0, 0, 0, 0xfd, 0x80, 0, 0, 0, 0]);
  s.core.serverBytes(Buffer.concat([
    packet(Buffer.from([0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0]), 1),
    packet(paramDef, 2), packet(paramDef, 3), packet(Buffer.from([0xfe, 0, 0, 2, 0]), 4),
  ]));
  await settle();
  return s;
}

describe('MySQL: a held execution of a prepared statement', () => {
  it('shows the approver the values it binds', async () => {
    const s = await prepared();
    // COM_STMT_EXECUTE 1, no cursor, iteration 1, NULL bitmap 0, new params bound: VAR_STRING, LONGLONG; 'mallory', 42.
    s.core.clientBytes(packet(Buffer.concat([
      Buffer.from([COM.STMT_EXECUTE]), u32(1), Buffer.from([0]), u32(1), Buffer.from([0, 1, TYPE.VAR_STRING, 0, TYPE.LONGLONG, 0]),
      lenenc('mallory'), Buffer.from([42, 0, 0, 0, 0, 0, 0, 0]),
    ]), 0));
    await settle();
    expect(s.held).toHaveLength(1);
    expect(s.held[0]!.detail).toMatchObject({ text: 'UPDATE accounts SET owner = ? WHERE id = ?', params: ['mallory', '42'] });
    expect(s.held[0]!.subject['params']).toHaveLength(2);
  });

  it('refuses (does not hold) an execution whose values it cannot read', async () => {
    const s = await prepared();
    // Types not sent and none known from an earlier execution.
    s.core.clientBytes(packet(Buffer.concat([Buffer.from([COM.STMT_EXECUTE]), u32(1), Buffer.from([0]), u32(1), Buffer.from([0, 0]), lenenc('x')]), 0));
    await settle();
    expect(s.held).toHaveLength(0);
    expect(s.toServer.map((b) => b[4])).not.toContain(COM.STMT_EXECUTE);
  });
});
