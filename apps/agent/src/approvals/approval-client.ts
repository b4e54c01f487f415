import {
  APPROVAL_EVENTS, MAX_APPROVAL_DETAIL_CHARS, approvalDecidedSchema,
  type ApprovalCancelAck, type ApprovalConsumeAck, type ApprovalConsumeMessage, type ApprovalRequestAck, type ApprovalRequestMessage,
} from '@gw/contracts';
import type { Logger } from 'pino';
import { DEFAULT_APPROVERS, type ApprovalRequirement } from '@gw/policy';

/** How a held statement or command ends. Anything but `approved` means: do not run it. */
export type ApprovalOutcome =
  | { status: 'approved'; approvalId: string; scope: 'once' | 'session'; by: string | null; comment: string | null }
  | { status: 'denied' | 'expired' | 'cancelled'; approvalId: string; by: string | null; comment: string | null }
  | { status: 'unavailable'; approvalId?: string; reason: string };

/** Known as soon as the control plane has created the approval: tell the waiting client. */
export interface ApprovalRequested {
  approvalId: string;
  expiresAt: Date;
  approveUrl: string;
}

export interface ApprovalHooks {
  /**
   * The unmasked statement or command for the approvers (the subject is masked). Sent only when the
   * policy's `@approval_view` is not `masked`: values the policy keeps from approvers never leave the agent.
   */
  detail?: Record<string, unknown>;
  onRequested?: (info: ApprovalRequested) => void;
  /**
   * Aborted when the held thing is gone (client cancelled it, session ended): the wait ends as
   * `cancelled` with the abort reason (a string) as comment, and the approval is cancelled too.
   */
  signal?: AbortSignal;
}

/** What the agent needs from its control channel (ControlChannel implements it). */
export interface ApprovalChannel {
  request<T>(event: string, payload: unknown, timeoutMs: number): Promise<T>;
  on(event: string, listener: (payload: unknown) => void): void;
  onDisconnect(listener: (reason: string) => void): void;
  onReady(listener: () => void): void;
}

export type RequestApproval = (request: ApprovalRequestMessage, hooks?: ApprovalHooks) => Promise<ApprovalOutcome>;

/**
 * Approvals the agent does not wait on (Kubernetes requests, answered at once): `create` files one
 * and returns where it stands; `consume` uses up an approved one of the same request, exactly once.
 * Both fail closed: an error is never an approval.
 */
export interface DurableApprovals {
  create(request: ApprovalRequestMessage): Promise<ApprovalRequested | { error: string }>;
  consume(message: ApprovalConsumeMessage): Promise<ApprovalConsumeAck>;
}

/** What a protocol session calls to hold one thing: the subject (already masked) and the policy's requirement. */
export type HoldForApproval = (subject: Record<string, unknown>, requirement: ApprovalRequirement | undefined, hooks: ApprovalHooks) => Promise<ApprovalOutcome>;

/** A session's hold function: its approvals are asked for that session, as `kind`, with the policy's requirement. */
export function holdThrough(requestApproval: RequestApproval, sessionId: string, kind: ApprovalRequestMessage['kind']): HoldForApproval {
  return (subject, requirement, hooks) => requestApproval(approvalRequest(sessionId, kind, subject, requirement, hooks.detail), hooks);
}

/** The approval request for one held thing: the masked subject, the detail unless the policy keeps it from approvers, the requirement. */
export function approvalRequest(
  sessionId: string, kind: ApprovalRequestMessage['kind'], subject: Record<string, unknown>, requirement: ApprovalRequirement | undefined,
  detail: Record<string, unknown> | undefined, fingerprint?: string,
): ApprovalRequestMessage {
  return {
    sessionId,
    kind,
    subject,
    ...approverDetail(detail, requirement),
    requirement: {
      approvals: requirement?.approvals ?? 1,
      approvers: requirement?.approvers ?? DEFAULT_APPROVERS,
      ...(requirement?.timeoutSeconds !== undefined ? { timeoutSeconds: requirement.timeoutSeconds } : {}),
    },
    ...(fingerprint !== undefined ? { fingerprint } : {}),
  };
}

/** The unmasked detail, unless the policy keeps values from approvers; too large a one is replaced by a note. */
function approverDetail(detail: Record<string, unknown> | undefined, requirement: ApprovalRequirement | undefined): { detail?: Record<string, unknown> } {
  if (!detail || requirement?.view === 'masked') return {};
  if (JSON.stringify(detail).length > MAX_APPROVAL_DETAIL_CHARS) return { detail: { omitted: 'the statement is too large to show unmasked; see the masked subject' } };
  return { detail };
}

const REQUEST_TIMEOUT_MS = 10_000;
/** Past the approval's expiry the agent stops waiting even if the control plane says nothing. */
const EXPIRY_GRACE_MS = 2_000;

/**
 * The agent's one way to hold something for a human: `requestApproval(request, hooks)` resolves
 * with the decision. It fails closed: no control plane, a lost connection, a malformed answer or
 * silence past the expiry all resolve as something other than `approved`. One held request never
 * blocks another (each is its own promise); protocols decide what else to queue meanwhile.
 */
export class ApprovalClient {
  private readonly waiting = new Map<string, (outcome: ApprovalOutcome) => void>();

  constructor(private readonly channel: ApprovalChannel, private readonly log: Logger) {
    channel.on(APPROVAL_EVENTS.decided, (payload) => {
      const decided = approvalDecidedSchema.safeParse(payload);
      if (!decided.success) {
        log.warn('ignored a malformed approval decision');
        return;
      }
      const d = decided.data;
      const settle = this.waiting.get(d.approvalId);
      if (!settle) return;
      if (d.status === 'approved') settle({ status: 'approved', approvalId: d.approvalId, scope: d.scope ?? 'once', by: d.by, comment: d.comment });
      else settle({ status: d.status, approvalId: d.approvalId, by: d.by, comment: d.comment });
    });
    channel.onDisconnect((reason) => {
      for (const [approvalId, settle] of [...this.waiting]) {
        settle({ status: 'unavailable', approvalId, reason: `the connection to the control plane was lost (${reason})` });
        this.abandoned.add(approvalId);
      }
    });
    // The replica that brokered them may have died without cancelling them: do it on reconnect.
    channel.onReady(() => {
      for (const approvalId of [...this.abandoned]) {
        this.abandoned.delete(approvalId);
        this.cancelRemotely(approvalId, 'the agent lost the control plane while it was held; it did not run');
      }
    });
  }

  /** Approvals given up while disconnected, to cancel once connected again. */
  private readonly abandoned = new Set<string>();

  private cancelRemotely(approvalId: string, reason: string): void {
    this.channel.request<ApprovalCancelAck>(APPROVAL_EVENTS.cancel, { approvalId, reason }, REQUEST_TIMEOUT_MS).catch((error: unknown) => {
      this.log.debug({ err: error, approvalId }, 'could not cancel the approval; the session end or its timeout will');
    });
  }

  readonly durable: DurableApprovals = {
    create: async (request) => {
      let ack: ApprovalRequestAck;
      try {
        ack = await this.channel.request<ApprovalRequestAck>(APPROVAL_EVENTS.request, request, REQUEST_TIMEOUT_MS);
      } catch (error) {
        return { error: `the control plane could not be asked (${(error as Error).message})` };
      }
      if (!ack || typeof ack !== 'object' || ack.ok !== true || typeof ack.approvalId !== 'string') {
        return { error: `the control plane refused the approval request: ${(ack && ack.ok === false && typeof ack.error === 'string' ? ack.error : 'malformed answer').slice(0, 300)}` };
      }
      return { approvalId: ack.approvalId, expiresAt: new Date(ack.expiresAt), approveUrl: ack.approveUrl };
    },
    consume: async (message) => {
      try {
        const ack = await this.channel.request<ApprovalConsumeAck>(APPROVAL_EVENTS.consume, message, REQUEST_TIMEOUT_MS);
        if (ack && typeof ack === 'object' && (ack.ok === false || (ack.ok === true && 'consumed' in ack))) return ack;
        return { ok: false, error: 'malformed answer' };
      } catch (error) {
        return { ok: false, error: `the control plane could not be asked (${(error as Error).message})` };
      }
    },
  };

  readonly requestApproval: RequestApproval = async (request, hooks = {}) => {
    if (hooks.signal?.aborted) return { status: 'unavailable', reason: 'the session ended' };
    let ack: ApprovalRequestAck;
    try {
      ack = await this.channel.request<ApprovalRequestAck>(APPROVAL_EVENTS.request, request, REQUEST_TIMEOUT_MS);
    } catch (error) {
      return { status: 'unavailable', reason: `the control plane could not be asked (${(error as Error).message})` };
    }
    if (!ack || typeof ack !== 'object' || ack.ok !== true || typeof ack.approvalId !== 'string') {
      const why = ack && ack.ok === false && typeof ack.error === 'string' ? ack.error : 'malformed answer';
      return { status: 'unavailable', reason: `the control plane refused the approval request: ${why.slice(0, 300)}` };
    }
    const { approvalId } = ack;
    const expiresAt = new Date(ack.expiresAt);
    return new Promise<ApprovalOutcome>((resolve) => {
      const timer = setTimeout(
        () => settle({ status: 'expired', approvalId, by: null, comment: null }),
        Math.max(0, Math.min(expiresAt.getTime() - Date.now() + EXPIRY_GRACE_MS, 2 ** 31 - 1)),
      );
      const onAbort = (): void => {
        const reason = typeof hooks.signal?.reason === 'string' ? hooks.signal.reason : 'the session ended';
        settle({ status: 'cancelled', approvalId, by: null, comment: reason });
        // Nobody may approve what is no longer waiting.
        this.cancelRemotely(approvalId, reason);
      };
      const settle = (outcome: ApprovalOutcome): void => {
        if (!this.waiting.has(approvalId)) return;
        this.waiting.delete(approvalId);
        clearTimeout(timer);
        hooks.signal?.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      this.waiting.set(approvalId, settle);
      hooks.signal?.addEventListener('abort', onAbort, { once: true });
      if (hooks.signal?.aborted) onAbort();
      try {
        hooks.onRequested?.({ approvalId, expiresAt, approveUrl: ack.approveUrl });
      } catch (error) {
        this.log.warn({ err: error, approvalId }, 'approval notice hook failed');
      }
    });
  };
}
