import { randomUUID } from 'node:crypto';
import { APPROVAL_EVENTS, type ApprovalRequestMessage } from '@gw/contracts';
import { pino } from 'pino';
import type { Socket } from 'socket.io';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalClient } from '../src/approvals/approval-client.js';
import { ControlChannel } from '../src/control-channel.js';
import { startFakeControlPlane, type FakeControlPlane } from './support/fake-control-plane.js';

const silent = pino({ level: 'silent' });

/**
 * The agent's approval wait over a real socket.io connection to a stand-in control plane: it
 * resolves `approved` only on an approved decision, and fails closed on everything else.
 */
describe('ApprovalClient: holding for a human fails closed', () => {
  let cp: FakeControlPlane;
  let channel: ControlChannel;
  let client: ApprovalClient;
  let socket: Socket;

  const request = (): ApprovalRequestMessage => ({ sessionId: randomUUID(), kind: 'statement', subject: { text: 'DELETE FROM t' }, requirement: { approvals: 1, approvers: ['role:approver'] } });
  /** The stand-in answers approval requests with this. */
  let answer: (req: ApprovalRequestMessage) => unknown;
  const cancels: unknown[] = [];

  async function connect(): Promise<void> {
    const next = cp.nextAgent();
    channel = new ControlChannel({
      url: cp.url,
      handshake: () => Promise.resolve({ credential: 'gwa_ok' }),
      hello: { version: 'test', resources: [] },
      onStream: () => undefined,
      openStreams: () => 0,
      log: silent,
      backoff: { initialMs: 50, maxMs: 200, jitter: 0.5 },
      onRevoked: () => undefined,
    });
    client = new ApprovalClient(channel, silent);
    channel.start();
    socket = (await next).socket;
    socket.on(APPROVAL_EVENTS.request, (req: ApprovalRequestMessage, ack: (a: unknown) => void) => ack(answer(req)));
    socket.on(APPROVAL_EVENTS.cancel, (msg: unknown, ack: (a: unknown) => void) => {
      cancels.push(msg);
      ack({ ok: true });
    });
    await channel.waitReady(5000);
  }

  const created = (approvalId: string, inMs = 60_000) => ({ ok: true, approvalId, expiresAt: new Date(Date.now() + inMs).toISOString(), approveUrl: `http://cp/api/v1/approvals/${approvalId}/approve` });

  beforeAll(async () => {
    cp = await startFakeControlPlane('gwa_ok');
  });
  afterEach(() => channel?.stop('test done'));
  afterAll(async () => {
    await cp?.close();
  });

  it('approved: resolves with the scope and approver once the decision arrives, after telling the caller the id', async () => {
    await connect();
    const id = randomUUID();
    answer = () => created(id);
    const requested: string[] = [];
    const waiting = client.requestApproval(request(), { onRequested: (info) => requested.push(info.approveUrl) });
    await expect.poll(() => requested.length).toBe(1);
    expect(requested[0]).toBe(`http://cp/api/v1/approvals/${id}/approve`);
    // Malformed and unrelated decisions change nothing.
    socket.emit(APPROVAL_EVENTS.decided, { approvalId: id, status: 'approved' });
    socket.emit(APPROVAL_EVENTS.decided, { approvalId: randomUUID(), sessionId: randomUUID(), status: 'approved', scope: 'once', by: 'x', comment: null });
    socket.emit(APPROVAL_EVENTS.decided, { approvalId: id, sessionId: randomUUID(), status: 'approved', scope: 'session', by: 'Approver', comment: 'ok' });
    await expect(waiting).resolves.toEqual({ status: 'approved', approvalId: id, scope: 'session', by: 'Approver', comment: 'ok' });
  });

  it('a refusal by the control plane, or no control plane at all, is "unavailable"', async () => {
    await connect();
    answer = () => ({ ok: false, error: 'session x is not served by this agent' });
    await expect(client.requestApproval(request())).resolves.toMatchObject({ status: 'unavailable', reason: expect.stringContaining('not served by this agent') as unknown });
    channel.stop('gone');
    await expect(client.requestApproval(request())).resolves.toMatchObject({ status: 'unavailable', reason: expect.stringContaining('not connected') as unknown });
  });

  it('losing the connection while held is "unavailable"; silence past the expiry is "expired"', async () => {
    await connect();
    const id = randomUUID();
    answer = () => created(id);
    const lost = client.requestApproval(request());
    await new Promise((r) => setTimeout(r, 100));
    const reconnected = cp.nextAgent();
    socket.disconnect(true);
    await expect(lost).resolves.toMatchObject({ status: 'unavailable', approvalId: id, reason: expect.stringContaining('connection to the control plane was lost') as unknown });
    // Back online, the agent cancels what it gave up (the replica that brokered it may be gone).
    const again = (await reconnected).socket;
    const cancelled = new Promise((resolve) => again.on(APPROVAL_EVENTS.cancel, (msg: unknown, ack: (a: unknown) => void) => {
      ack({ ok: true });
      resolve(msg);
    }));
    await expect(cancelled).resolves.toEqual({ approvalId: id, reason: 'the agent lost the control plane while it was held; it did not run' });
    channel.stop('next case');

    await connect();
    const quiet = randomUUID();
    answer = () => created(quiet, 200);
    await expect(client.requestApproval(request())).resolves.toEqual({ status: 'expired', approvalId: quiet, by: null, comment: null });
  });

  it('aborting the wait cancels it with the reason and tells the control plane', async () => {
    await connect();
    const id = randomUUID();
    answer = () => created(id);
    const abort = new AbortController();
    const waiting = client.requestApproval(request(), { signal: abort.signal, onRequested: () => abort.abort('the client cancelled the statement') });
    await expect(waiting).resolves.toEqual({ status: 'cancelled', approvalId: id, by: null, comment: 'the client cancelled the statement' });
    await expect.poll(() => cancels).toContainEqual({ approvalId: id, reason: 'the client cancelled the statement' });
  });
});
