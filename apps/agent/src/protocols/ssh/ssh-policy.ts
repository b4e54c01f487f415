import { mergeMasking, type ApprovalRequirement, type MaskingObligation, type PolicyContext, type PolicyInput, type PolicyResource } from '@gw/policy';
import { analyzeShellCommand, type ShellCommandAnalysis } from '@gw/shell-command';
import type { ApprovalOutcome } from '../../approvals/approval-client.js';
import type { PolicyHolder } from '../../policy/policy-holder.js';

export type SshAction = 'ssh:exec' | 'ssh:shell' | 'ssh:sftp' | 'ssh:forward';

/** What one SSH request asks for, in policy terms. */
export type SshRequest =
  | { action: 'ssh:exec'; command: string; pty?: boolean }
  | { action: 'ssh:shell'; pty?: boolean }
  | { action: 'ssh:sftp' }
  | { action: 'ssh:forward'; host: string; port: number };

export interface SshVerdict {
  effect: 'allow' | 'deny' | 'require_approval';
  policies: string[];
  reasons: string[];
  /** For require_approval: how many approvers, which ones, how long (from the policy). */
  approval?: ApprovalRequirement;
  /** The action policy decided: an exec of a shell (`bash`, `bash -i`, `python3 -`) is an `ssh:shell`. */
  decidedAs: SshAction;
  /** For a command: what it runs, as policy saw it. */
  analysis?: ShellCommandAnalysis;
  /** The decision's masking obligation (a deny has none): with the connect one, it masks the channel's recording. */
  masking: MaskingObligation;
}

const NO_MASKING: MaskingObligation = { entities: [], columns: [] };

export interface SshPolicyContext {
  principal: PolicyInput['principal'];
  resource: PolicyResource;
  login: string;
  sourceIp: string;
}

/** Longer commands are refused rather than cut: a policy must see the whole command it allows. */
export const MAX_COMMAND_LENGTH = 16 * 1024;

/**
 * Decides one SSH request with the policy snapshot the agent holds; no snapshot denies (fail closed).
 * A command is parsed with a bash grammar first (`@gw/shell-command`); policy gets the whole text and
 * the union of what it runs. An exec whose command is a shell reading the session's input is decided
 * as `ssh:shell`.
 */
export async function decideSsh(policy: PolicyHolder, ctx: SshPolicyContext, request: SshRequest): Promise<SshVerdict> {
  const current = policy.current();
  if (!current.engine) return { effect: 'deny', policies: [], reasons: [`${current.reason}; denied`], decidedAs: request.action, masking: NO_MASKING };
  if (request.action === 'ssh:exec' && request.command.length > MAX_COMMAND_LENGTH) {
    return { effect: 'deny', policies: [], reasons: [`commands longer than ${MAX_COMMAND_LENGTH} characters are refused`], decidedAs: request.action, masking: NO_MASKING };
  }
  const context: PolicyContext = { sourceIp: ctx.sourceIp, login: ctx.login };
  let action: SshAction = request.action;
  let analysis: ShellCommandAnalysis | undefined;
  if (request.action === 'ssh:exec') {
    analysis = await analyzeOrOpaque(request.command);
    Object.assign(context, commandContext(request.command, analysis));
    if (analysis.shell) action = 'ssh:shell';
  }
  // A terminal's output reaches the client unmasked (only its recording is masked): policy may refuse one.
  if ((request.action === 'ssh:exec' || request.action === 'ssh:shell') && request.pty !== undefined) context.pty = request.pty;
  if (request.action === 'ssh:forward') {
    context.host = request.host;
    context.port = request.port;
  }
  const decision = current.engine.evaluate({ principal: ctx.principal, action, resource: ctx.resource, context });
  const approval = decision.effect === 'require_approval' ? decision.obligations.approval : undefined;
  return {
    effect: decision.effect, policies: decision.determiningPolicies, reasons: decision.reasons, decidedAs: action,
    masking: decision.obligations.masking, ...(approval ? { approval } : {}), ...(analysis ? { analysis } : {}),
  };
}

/**
 * The masking of a channel's recording: the session's `connect` obligation merged with the request's
 * (as a statement's actions merge theirs). The control plane decided the connect and sends no
 * obligations, so the agent evaluates it again for its masking only, with and without a JIT grant
 * (the agent cannot tell whether the session runs under one; masking more is the safe mistake). A
 * connect that now denies still carries the masking of its permits (a grant-demanding one does).
 */
export function channelMasking(policy: PolicyHolder, ctx: SshPolicyContext, verdict: SshVerdict): MaskingObligation {
  const current = policy.current();
  if (!current.engine) return verdict.masking;
  const connect = [false, true].map((hasGrant) => current.engine.evaluate({
    principal: ctx.principal, action: 'connect', resource: ctx.resource,
    context: { sourceIp: ctx.sourceIp, login: ctx.login, hasGrant },
  }).obligations.masking);
  return mergeMasking([...connect, verdict.masking]);
}

/** The analysis, or (if the analyzer itself fails) an opaque one: policy never sees a command as harmless by accident. */
async function analyzeOrOpaque(command: string): Promise<ShellCommandAnalysis> {
  try {
    return await analyzeShellCommand(command);
  } catch (error) {
    return {
      programs: [], programPaths: [], flags: [], writesFiles: [], dynamicArgs: [], interpreter: false, shell: false,
      opaque: true, opaqueReasons: [`the command could not be analyzed: ${(error as Error).message}`],
    };
  }
}

function commandContext(command: string, a: ShellCommandAnalysis): PolicyContext {
  return {
    command, programs: a.programs, programPaths: a.programPaths, flags: a.flags, writesFiles: a.writesFiles,
    dynamicArgs: a.dynamicArgs, opaque: a.opaque, interpreter: a.interpreter, shell: a.shell,
  };
}

/** The line the client sees on stderr for a refused request. */
export function refusalMessage(verdict: SshVerdict, what: string): string {
  const reason = verdict.reasons[0] ?? 'not permitted';
  const policy = verdict.policies[0];
  return policy ? `gateway: ${what} denied by policy "${policy}": ${reason}` : `gateway: ${what} denied: ${reason}`;
}

/** The line the client sees on stderr when a held request is not approved. */
export function heldRefusal(verdict: SshVerdict, what: string, outcome: Exclude<ApprovalOutcome, { status: 'approved' }>): string {
  const policies = verdict.policies.map((p) => `"${p}"`).join(', ');
  const by = 'by' in outcome && outcome.by ? ` by ${outcome.by}` : '';
  const comment = 'comment' in outcome && outcome.comment ? `: ${outcome.comment}` : '';
  switch (outcome.status) {
    case 'denied':
      return `gateway: ${what} was denied${by} (approval ${outcome.approvalId}, policy ${policies})${comment}`;
    case 'expired':
      return `gateway: ${what} was not approved in time (approval ${outcome.approvalId} expired); it did not run`;
    case 'cancelled':
      return `gateway: ${what} did not run: approval ${outcome.approvalId} was cancelled${comment}`;
    case 'unavailable':
      return `gateway: ${what} needs approval (policy ${policies}), which cannot be asked for now: ${outcome.reason}; it did not run`;
  }
}

/** Told to the client (stderr) as soon as the approval exists, while the request waits. */
export function heldNotice(what: string, approvalId: string, expiresAt: Date, approveUrl: string): string {
  return `gateway: ${what} is held for approval ${approvalId} until ${expiresAt.toISOString()}; an approver runs it with: POST ${approveUrl}\r\n`;
}

/**
 * The command is only the target's end of a file copy: `scp -t` / `scp -f` (what `scp` runs over
 * ssh), `rsync --server`, or an sftp server. Its output is the copy protocol, not text for a reader.
 */
export function isFileTransferServer(analysis: ShellCommandAnalysis | undefined): boolean {
  if (!analysis || analysis.opaque || analysis.programs.length !== 1) return false;
  const [program] = analysis.programs;
  if (program === 'scp') return analysis.flags.includes('scp:-t') || analysis.flags.includes('scp:-f');
  if (program === 'rsync') return analysis.flags.includes('rsync:--server');
  return program === 'sftp-server';
}
