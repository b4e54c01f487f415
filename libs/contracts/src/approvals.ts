import { z } from 'zod';

/**
 * Approvals requested by an agent for something it holds (a Postgres statement, later an SSH
 * command): agent -> CP `approval:request` with an ack carrying the approval id; CP -> agent
 * `approval:decided` once it is approved, denied, expired or cancelled. The agent never runs a held
 * thing without an `approved` decision; losing the connection counts as a refusal.
 */
export const APPROVAL_EVENTS = {
  request: 'approval:request',
  decided: 'approval:decided',
  /** agent -> CP, with ack: the held thing is gone (client cancelled, session ended); cancel its approval. */
  cancel: 'approval:cancel',
  /**
   * agent -> CP, with ack: a Kubernetes request policy holds came (again): use up an approved,
   * unused approval of the same request by the same principal, if there is one (exactly once).
   */
  consume: 'approval:consume',
} as const;

/** How long an approved Kubernetes request may be sent again, after it was approved. */
export const APPROVED_KUBERNETES_REQUEST_TTL_SECONDS = 15 * 60;

/** A request's fingerprint: hex SHA-256 of its method, path with query, and body hash (see the agent's held-requests.ts). */
const fingerprintSchema = z.string().regex(/^[0-9a-f]{64}$/, 'a hex SHA-256');

/** Largest unmasked detail (JSON) an agent sends with a held statement; a larger one is left out. */
export const MAX_APPROVAL_DETAIL_CHARS = 256 * 1024;

/**
 * What the agent asks: the subject is already masked (it is stored, audited, shown to every viewer
 * and published as is). `detail` is the unmasked statement (text, parameters) for the approvers and
 * admins only; the agent leaves it out when the policy says `@approval_view("masked")`.
 */
export const approvalRequestSchema = z.strictObject({
  sessionId: z.uuid(),
  /** `kubernetes_request`: answered at once, sent again once approved; the approval outlives its session. */
  kind: z.enum(['statement', 'command', 'kubernetes_request']),
  subject: z.record(z.string(), z.unknown()).refine((s) => JSON.stringify(s).length <= 128 * 1024, 'subject larger than 128 KiB'),
  detail: z
    .record(z.string(), z.unknown())
    .refine((d) => JSON.stringify(d).length <= MAX_APPROVAL_DETAIL_CHARS, 'detail larger than 256 KiB')
    .optional(),
  requirement: z.strictObject({
    approvals: z.number().int().min(1).max(10),
    approvers: z.array(z.string().regex(/^(group:[A-Za-z0-9][A-Za-z0-9._:@/-]{0,255}|role:(approver|admin))$/)).min(1).max(20),
    /** Absent: the control plane's default for the kind. */
    timeoutSeconds: z.number().int().min(30).max(86_400).optional(),
  }),
  /** `kubernetes_request` only: what makes a later request "the same request" (kept with the approval). */
  fingerprint: fingerprintSchema.optional(),
}).refine((r) => r.fingerprint === undefined || r.kind === 'kubernetes_request', 'a fingerprint belongs to kubernetes_request approvals only');
export type ApprovalRequestMessage = z.output<typeof approvalRequestSchema>;

export type ApprovalRequestAck =
  | { ok: true; approvalId: string; expiresAt: string; approveUrl: string }
  | { ok: false; error: string };

export const approvalDecidedSchema = z.strictObject({
  approvalId: z.uuid(),
  sessionId: z.uuid(),
  status: z.enum(['approved', 'denied', 'expired', 'cancelled']),
  /** For approved statements: `session` lets statements with the same fingerprint run for the rest of the session. */
  scope: z.enum(['once', 'session']).nullable(),
  /** Display name of the approver who decided (approved or denied). */
  by: z.string().max(512).nullable(),
  comment: z.string().max(2000).nullable(),
});
export type ApprovalDecidedMessage = z.output<typeof approvalDecidedSchema>;

export const approvalCancelSchema = z.strictObject({
  approvalId: z.uuid(),
  reason: z.string().min(1).max(500),
});
export type ApprovalCancelMessage = z.output<typeof approvalCancelSchema>;
export type ApprovalCancelAck = { ok: true } | { ok: false; error: string };

/** The principal and cluster are the session's: an agent can only use up approvals of sessions it serves. */
export const approvalConsumeSchema = z.strictObject({
  sessionId: z.uuid(),
  fingerprint: fingerprintSchema,
});
export type ApprovalConsumeMessage = z.output<typeof approvalConsumeSchema>;
/** `consumed`: the approval now used up (run the request). `pending`: one is still waiting for approvers. */
export type ApprovalConsumeAck = { ok: true; consumed: string | null; pending: string | null } | { ok: false; error: string };
