import type { PolicyContext, PolicyInput, PolicyResource } from '@gw/policy';
import type { PolicyHolder } from '../postgres/policy-holder.js';

export type SshAction = 'ssh:exec' | 'ssh:shell' | 'ssh:sftp' | 'ssh:forward';

/** What one SSH request asks for, in policy terms. */
export type SshRequest =
  | { action: 'ssh:exec'; command: string }
  | { action: 'ssh:shell' }
  | { action: 'ssh:sftp' }
  | { action: 'ssh:forward'; host: string; port: number };

export interface SshVerdict {
  effect: 'allow' | 'deny' | 'require_approval';
  policies: string[];
  reasons: string[];
}

export interface SshPolicyContext {
  principal: PolicyInput['principal'];
  resource: PolicyResource;
  login: string;
  sourceIp: string;
}

/** Longer commands are refused rather than cut: a policy must see the whole command it allows. */
export const MAX_COMMAND_LENGTH = 16 * 1024;

/** Decides one SSH request with the policy snapshot the agent holds; no snapshot denies (fail closed). */
export function decideSsh(policy: PolicyHolder, ctx: SshPolicyContext, request: SshRequest): SshVerdict {
  const current = policy.current();
  if (!current.engine) return { effect: 'deny', policies: [], reasons: [`${current.reason}; denied`] };
  if (request.action === 'ssh:exec' && request.command.length > MAX_COMMAND_LENGTH) {
    return { effect: 'deny', policies: [], reasons: [`commands longer than ${MAX_COMMAND_LENGTH} characters are refused`] };
  }
  const context: PolicyContext = { sourceIp: ctx.sourceIp, login: ctx.login };
  if (request.action === 'ssh:exec') context.command = request.command;
  if (request.action === 'ssh:forward') {
    context.host = request.host;
    context.port = request.port;
  }
  const decision = current.engine.evaluate({ principal: ctx.principal, action: request.action, resource: ctx.resource, context });
  return { effect: decision.effect, policies: decision.determiningPolicies, reasons: decision.reasons };
}

/** The line the client sees on stderr for a refused request. */
export function refusalMessage(verdict: SshVerdict, what: string): string {
  const reason = verdict.reasons[0] ?? 'not permitted';
  if (verdict.effect === 'require_approval') {
    const why = verdict.reasons.find((r) => r.startsWith('approval required')) ?? 'approval required by policy';
    return `gateway: ${what} needs approval (${why}); approvals are not available in this version, so it was refused`;
  }
  const policy = verdict.policies[0];
  return policy ? `gateway: ${what} denied by policy "${policy}": ${reason}` : `gateway: ${what} denied: ${reason}`;
}

/**
 * The hold point for a request whose decision is `require_approval`. Approvals are not wired to the
 * agent yet, so this refuses (fail closed). When they are, this is the one place to ask the control
 * plane for an approval and wait for it (the callers already await it, with the channel paused).
 */
export function holdForApproval(_verdict: SshVerdict, _request: SshRequest): Promise<'approved' | 'refused'> {
  return Promise.resolve('refused');
}
