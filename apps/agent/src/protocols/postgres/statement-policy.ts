import { derivedValueStyle, entitiesNamedBy, ruleTableMatches, strongestStyle, type ColumnRef, type MaskStyle } from '@gw/masking';
import type { PolicyEngine, PolicyInput } from '@gw/policy';
import { mergeMasking, type ApprovalRequirement, type MaskingObligation, type PolicyDecision, type PolicyResource } from '@gw/policy';
import type { StatementClassification } from '@gw/sql';
import type { SessionPrincipal } from '@gw/tunnel';
import type { PolicyHolder } from '../../policy/policy-holder.js';
import { decisionKey } from './decision-key.js';
import { keepsValues, maskedValuesKept } from './kept-values.js';
import { valueSamplesRead } from './value-samples.js';
import { behindViews, opaqueViewStyle, type ViewLineage } from './view-masking.js';
import { callsUserCode, callsUserRowFunction, readsUserCodeView } from './user-functions.js';
import { convertsToUserCodeType } from './user-types.js';

type Principal = PolicyInput['principal'];

/** The outcome for one statement (or one whole Query), as the relay and the recording need it. */
export interface StatementVerdict {
  effect: 'allow' | 'deny' | 'require_approval';
  /** Policies that decided (for a deny: the denying ones; else the permits). */
  policies: string[];
  reasons: string[];
  masking: MaskingObligation;
  /**
   * Style for expression results (no source column) of a statement that references a column under a
   * column rule, or a whole row/star of a table that has one: `reverse(ssn)`, `ssn || ''`,
   * `row_to_json(c)` are derived from the ruled column and masked as a whole in the rule's style
   * (`partial` as `full`: see derivedValueStyle).
   */
  derivedStyle?: MaskStyle;
  /**
   * Style for expression results that are not plain numbers, times or booleans, of a statement that
   * references a column whose name names an entity the policy masks (`replace(email, '@', '#')`,
   * `substr(ssn, 1, 3)`: see entityDerivedStyleOf). Numbers stay readable (`count(*) ... WHERE email
   * LIKE ...`) and are checked as entities themselves.
   */
  entityDerivedStyle?: MaskStyle;
  /** For require_approval: the merged requirement (highest N, approvers joined, shortest timeout). */
  approval?: ApprovalRequirement;
  /** Overrides the client-facing denial message (a denied or expired approval names itself). */
  message?: string;
}

export interface SessionPolicyContext {
  principal: Principal;
  resource: PolicyResource;
  dbRole: string;
  sourceIp: string;
  /** Names of functions defined outside pg_catalog (see user-functions.ts); absent = none known. */
  userFunctions?: ReadonlySet<string>;
  /** Names of views that call such functions (see user-functions.ts); absent = none known. */
  userCodeViews?: ReadonlySet<string>;
  /** Names of user functions of one row argument, callable as `t.name` (see user-functions.ts); absent = none known. */
  userRowFunctions?: ReadonlySet<string>;
  /** User types whose conversion runs no user code (see user-types.ts); absent = none: every user type counts as code. */
  safeUserTypes?: ReadonlySet<string>;
  /**
   * MySQL: what is behind each view (mysql/user-code.ts), whose columns the server names after the
   * view. Postgres looks through views column by column in its masking instead (column-catalog.ts).
   */
  views?: ReadonlyMap<string, ViewLineage>;
}

export const NO_MASKING: MaskingObligation = { entities: [], columns: [] };

export function denied(reason: string, policies: string[] = []): StatementVerdict {
  return { effect: 'deny', policies, reasons: [reason], masking: NO_MASKING };
}

/** The grant's principal in the policy engine's model (Cedar sees the same principal on both sides). */
export function principalFromGrant(p: SessionPrincipal): Principal {
  return {
    id: p.id,
    kind: p.kind === 'user' ? 'human' : 'workload',
    issuer: p.issuer ?? '',
    subject: p.subject ?? p.id,
    ...(p.tenantId !== undefined ? { tenantId: p.tenantId } : {}),
    ...(p.objectId !== undefined ? { objectId: p.objectId } : {}),
    ...(p.appId !== undefined ? { appId: p.appId } : {}),
    ...(p.displayName ? { displayName: p.displayName } : {}),
    ...(p.tokenId !== undefined ? { tokenId: p.tokenId } : {}),
    roles: p.roles ?? [],
    groups: p.groups ?? [],
    gatewayRoles: p.gatewayRoles ?? [],
    // Signed by the control plane from a verified token or attestation; shaped by @gw/identity.
    ...(p.process !== undefined ? { process: p.process as unknown as NonNullable<Principal['process']> } : {}),
  };
}

/** Verdicts remembered per session, for one policy engine and one hour (`context.hour` is an input). */
interface VerdictMemo {
  engine: object;
  hour: number;
  verdicts: Map<string, StatementVerdict>;
}
const MAX_MEMO_ENTRIES = 1000;
const verdictMemos = new WeakMap<SessionPolicyContext, VerdictMemo>();

/**
 * Decides one statement: every action it needs is evaluated; any deny denies it, any approval
 * requirement (with no deny) makes it `require_approval`; masking obligations of all decisions merge.
 *
 * The verdict depends only on the session's context, the engine, the hour and the statement's
 * classification (kind, actions, tables, functions, read-only, columns referenced), not on its text: statements that
 * differ only in their literals (a client sending `... WHERE id = 42` in a loop) reuse it without
 * building Cedar requests again. A new policy (another engine) or another hour starts afresh.
 */
export function decideStatement(policy: PolicyHolder, ctx: SessionPolicyContext, statement: StatementClassification): StatementVerdict {
  const current = policy.current();
  if (!current.engine) return denied(`${current.reason}; denied`);
  // The UTC hour without a Date object per statement (the epoch has no leap seconds).
  const hour = Math.floor(Date.now() / 3_600_000) % 24;
  let memo = verdictMemos.get(ctx);
  if (!memo || memo.engine !== current.engine || memo.hour !== hour) {
    memo = { engine: current.engine, hour, verdicts: new Map() };
    verdictMemos.set(ctx, memo);
  }
  // Everything of the classification that the decision reads: the policy inputs, and the columns
  // referenced (they decide whether computed results are masked as derived from a ruled column).
  const key = decisionKey(statement);
  let verdict = memo.verdicts.get(key);
  if (!verdict) {
    verdict = decideUncached(current.engine, ctx, statement);
    if (memo.verdicts.size >= MAX_MEMO_ENTRIES) memo.verdicts.clear();
    memo.verdicts.set(key, verdict);
  }
  // Callers own what they get (they may sort or extend the lists); the masking rules are shared, and
  // their identity lets the session find its masker without serializing them.
  return { ...verdict, policies: [...verdict.policies], reasons: [...verdict.reasons] };
}

function decideUncached(engine: PolicyEngine, ctx: SessionPolicyContext, statement: StatementClassification): StatementVerdict {
  if (statement.actions.length === 0) return denied('statement needs no known action; denied');
  const tables = [...new Set([...statement.tablesRead, ...statement.tablesWritten])].sort();
  const actions = new Set(statement.actions);
  const runsUserCode =
    callsUserCode(statement.functions, ctx.userFunctions ?? new Set()) ||
    callsUserRowFunction(statement.columnsReferenced, ctx.userRowFunctions ?? new Set()) ||
    readsUserCodeView(statement.tablesRead, ctx.userCodeViews ?? new Set()) ||
    convertsToUserCodeType(statement.typesConverted, ctx.safeUserTypes ?? new Set());
  if (runsUserCode) actions.add('sql:procedural');
  const evaluate = (action: PolicyInput['action']): PolicyDecision =>
    engine.evaluate({
      principal: ctx.principal,
      action,
      resource: ctx.resource,
      context: {
        sourceIp: ctx.sourceIp,
        statementKind: statement.kind,
        tables: withBareNames(tables),
        tablesWritten: withBareNames(statement.tablesWritten),
        functions: withBareNames(statement.functions),
        // User code may write whatever the statement itself does not.
        readOnly: statement.readOnly && !runsUserCode,
        dbRole: ctx.dbRole,
      },
    });
  const decisions: PolicyDecision[] = [];
  for (const action of actions) decisions.push(evaluate(action));
  const denies = decisions.filter((d) => d.effect === 'deny');
  if (denies.length > 0) {
    return {
      effect: 'deny',
      policies: [...new Set(denies.flatMap((d) => d.determiningPolicies))],
      reasons: [...new Set(denies.flatMap((d) => d.reasons))],
      masking: NO_MASKING,
    };
  }
  const masking = decisions.reduce<MaskingObligation>((acc, d) => mergeMasking([acc, d.obligations.masking]), NO_MASKING);
  // A view's columns come from what is behind it: its columns and base tables count as referenced.
  const behind = behindViews(ctx.views, statement.tablesRead);
  const referenced = [...statement.columnsReferenced, ...behind.columns];
  const derived = derivedValueStyle(behind.opaque ? opaqueViewStyle(masking) : derivedStyleOf(masking, referenced, [...tables, ...behind.tables]));
  const entityDerived = entityDerivedStyleOf(masking, statement.columnsComputed ?? []);
  if (copiesRuledColumns(masking, statement, tables)) {
    return maskingDenial(decisions, 'COPY output carries no column names, so the column rules that apply to it cannot be applied; read it with SELECT');
  }
  const samples = valueSamplesRead(masking, statement);
  if (samples !== undefined) {
    return maskingDenial(decisions, `${samples} holds samples of column values, which masking cannot tell apart by column; read its other columns`);
  }
  // What a statement keeps is read back later by a plain read: the masking of reading these tables
  // counts too (an UPDATE that copies a column is allowed by a permit that masks nothing).
  const read = keepsValues(statement) ? evaluate('sql:select') : undefined;
  const readMasks = read && read.effect !== 'deny' ? [read] : [];
  const kept = maskedValuesKept(mergeMasking([masking, ...readMasks.map((d) => d.obligations.masking)]), statement, tables, behind);
  if (kept !== undefined) {
    return maskingDenial([...decisions, ...readMasks], `the statement would keep a value of ${kept.columns}, which policy masks, beyond its result (${kept.where}), where the masking cannot follow it`);
  }
  const withDerived = { ...(derived ? { derivedStyle: derived } : {}), ...(entityDerived ? { entityDerivedStyle: entityDerived } : {}) };
  const approvals = decisions.filter((d) => d.effect === 'require_approval');
  if (approvals.length > 0) {
    const approval = mergeApproval(approvals.flatMap((d) => (d.obligations.approval ? [d.obligations.approval] : [])));
    return {
      effect: 'require_approval',
      policies: [...new Set(approvals.flatMap((d) => d.determiningPolicies))],
      reasons: [...new Set(approvals.flatMap((d) => d.reasons))],
      masking,
      ...(approval ? { approval } : {}),
      ...withDerived,
    };
  }
  return { effect: 'allow', policies: [...new Set(decisions.flatMap((d) => d.determiningPolicies))], reasons: [], masking, ...withDerived };
}

/**
 * COPY ... TO sends rows without column names (no RowDescription), so a column rule has nothing to
 * find its column by: a COPY whose columns fall under a column rule is refused. A COPY of a table
 * without a column list (or of a query that names no column) copies every column.
 */
function copiesRuledColumns(masking: MaskingObligation, statement: StatementClassification, tables: readonly string[]): boolean {
  if (statement.kind !== 'copy_to' || masking.columns.length === 0) return false;
  const columns = statement.columnsReferenced.length > 0 ? statement.columnsReferenced : ['*'];
  return derivedStyleOf(masking, columns, tables) !== undefined;
}

/** A denial because masking could not hold: named after the policies whose masking it protects. */
function maskingDenial(decisions: readonly PolicyDecision[], reason: string): StatementVerdict {
  const masks = decisions.filter((d) => d.obligations.masking.columns.length > 0 || d.obligations.masking.entities.length > 0);
  return denied(reason, [...new Set(masks.flatMap((d) => d.determiningPolicies))]);
}

/** The strongest style of the column rules whose column (or a star/whole row) the statement references on a table it touches. */
function derivedStyleOf(masking: MaskingObligation, columnsReferenced: readonly string[], tables: readonly string[]): MaskStyle | undefined {
  if (masking.columns.length === 0) return undefined;
  const referenced = new Set(columnsReferenced);
  const applies = masking.columns.filter(
    (rule) =>
      (referenced.has('*') || referenced.has(rule.column.toLowerCase())) && (rule.table === '*' || tables.some((table) => ruleTableMatches(rule.table, table))),
  );
  return strongestStyle(applies.map((rule) => rule.style));
}

/**
 * The strongest style of the entity rules whose entity is named by a column that a computed select-list
 * item reads (`email`, `customer_ssn`, `cardNumber`: entitiesNamedBy; StatementClassification.columnsComputed).
 * An expression over such a column can change the value's shape so that no recognizer finds it any more
 * (`translate(ssn, '0123456789', 'abcdefghij')`, `split_part(email, '@', 1)`), so the statement's computed
 * results are masked whole, as for a column rule. A column passed through as it is (`SELECT email`) or
 * only filtered on (`WHERE email LIKE ...`) keeps its values' shape: it is scanned as before. A star or a
 * whole row that a computed item reads may be any column (`replace(row_to_json(c)->>'email', '@', '#')`);
 * passed on whole (`row_to_json(c)`, `c::text`) it is scanned.
 */
export function entityDerivedStyleOf(masking: MaskingObligation, columnsComputed: readonly string[]): MaskStyle | undefined {
  if (masking.entities.length === 0 || columnsComputed.length === 0) return undefined;
  // A star or a whole row computed from (`replace(row_to_json(c)->>'email', ...)`) may be any column.
  if (columnsComputed.includes('*')) return derivedValueStyle(strongestStyle(masking.entities.map((rule) => rule.style)));
  const named = new Set(columnsComputed.flatMap((column) => entitiesNamedBy(column)));
  if (named.size === 0) return undefined;
  return derivedValueStyle(strongestStyle(masking.entities.filter((rule) => named.has(rule.entity)).map((rule) => rule.style)));
}

/** The strongest style of the column rules that name any of these (resolved) columns. */
export function styleForColumns(masking: MaskingObligation, columns: readonly ColumnRef[]): MaskStyle | undefined {
  if (masking.columns.length === 0 || columns.length === 0) return undefined;
  const applies = masking.columns.filter((rule) =>
    columns.some((c) => c.column.toLowerCase() === rule.column.toLowerCase() && (rule.table === '*' || (c.table !== undefined && ruleTableMatches(rule.table, c.table.toLowerCase())))),
  );
  return strongestStyle(applies.map((rule) => rule.style));
}

/** Combines the verdicts of the statements of one Query: one deny denies all (no partial run). */
export function combineVerdicts(verdicts: readonly StatementVerdict[]): StatementVerdict {
  // One statement (the usual Query): its verdict as it is, masking rules included (same object).
  if (verdicts.length === 1) return verdicts[0]!;
  const deny = verdicts.find((v) => v.effect === 'deny');
  if (deny) return deny;
  const approvals = verdicts.filter((v) => v.effect === 'require_approval');
  const masking = verdicts.reduce<MaskingObligation>((acc, v) => mergeMasking([acc, v.masking]), NO_MASKING);
  const derived = strongestStyle(verdicts.flatMap((v) => (v.derivedStyle ? [v.derivedStyle] : [])));
  const entityDerived = strongestStyle(verdicts.flatMap((v) => (v.entityDerivedStyle ? [v.entityDerivedStyle] : [])));
  const withDerived = { ...(derived ? { derivedStyle: derived } : {}), ...(entityDerived ? { entityDerivedStyle: entityDerived } : {}) };
  if (approvals.length > 0) {
    const approval = mergeApproval(approvals.flatMap((v) => (v.approval ? [v.approval] : [])));
    return {
      effect: 'require_approval',
      policies: [...new Set(approvals.flatMap((v) => v.policies))],
      reasons: [...new Set(approvals.flatMap((v) => v.reasons))],
      masking,
      ...(approval ? { approval } : {}),
      ...withDerived,
    };
  }
  return { effect: 'allow', policies: [...new Set(verdicts.flatMap((v) => v.policies))], reasons: [], masking, ...withDerived };
}

/**
 * The statement computes values from a masked column (a column rule's, or one named for a masked
 * entity): messages the server quotes its values in (errors, warnings) have every quoted value masked.
 */
export function derivesMaskedValues(verdict: StatementVerdict | undefined): boolean {
  return verdict !== undefined && verdict.effect !== 'deny' && (verdict.derivedStyle !== undefined || verdict.entityDerivedStyle !== undefined);
}

/** The client-facing message for a refused statement. */
export function denialMessage(verdict: StatementVerdict): string {
  if (verdict.message !== undefined) return verdict.message;
  const reason = verdict.reasons[0] ?? 'not permitted';
  if (verdict.effect === 'require_approval') {
    const names = verdict.policies.map((p) => `"${p}"`).join(', ');
    return `approval required by policy ${names}: this kind of message cannot be held for approval; denied`;
  }
  const policy = verdict.policies[0];
  return policy ? `denied by policy "${policy}": ${reason}` : `denied: ${reason}`;
}

/** Several demanding decisions: the most demanding N, their approvers joined, the shortest timeout, masked if any says so. */
export function mergeApproval(requirements: readonly ApprovalRequirement[]): ApprovalRequirement | undefined {
  if (requirements.length === 0) return undefined;
  const needed = Math.max(...requirements.map((r) => r.approvals));
  const timeouts = requirements.flatMap((r) => (r.timeoutSeconds !== undefined ? [r.timeoutSeconds] : []));
  return {
    approvals: needed,
    approvers: [...new Set(requirements.filter((r) => r.approvals === needed).flatMap((r) => r.approvers))].sort(),
    ...(timeouts.length > 0 ? { timeoutSeconds: Math.min(...timeouts) } : {}),
    view: requirements.some((r) => r.view === 'masked') ? 'masked' : 'unmasked',
  };
}

/**
 * The names a policy sees: each as the statement wrote it, and a qualified one (`public.secrets`,
 * `shop.secrets`, `pg_catalog.pg_read_file`) also by its bare name, so a policy naming `secrets`
 * matches every spelling of it; a qualified name in a policy matches that spelling only.
 */
export function withBareNames(names: readonly string[]): string[] {
  const out = new Set(names);
  for (const name of names) {
    const dot = name.lastIndexOf('.');
    if (dot > 0 && dot < name.length - 1) out.add(name.slice(dot + 1));
  }
  return [...out].sort();
}
