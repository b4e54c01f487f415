import { randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { Masker } from '@gw/masking';
import { DomainError, DomainErrorCode } from '../common/domain-error.js';
import { loggerFor } from '../common/logger.js';
import { AuditService } from '../audit/audit.service.js';
import { SessionBroker } from '../connect/session-broker.service.js';
import { ApprovalsService } from '../approvals/approvals.service.js';
import { approvalView } from '../approvals/approval-view.js';
import { AccessRequestsService } from '../grants/access-requests.service.js';
import { accessRequestBodySchema } from '../grants/dto/access-request.dto.js';
import { accessRequestView, grantView } from '../grants/grant-view.js';
import { ActivePolicyService } from '../policies/active-policy.service.js';
import { ResourcesService } from '../resources/resources.service.js';
import { HeldCallsStore } from './held-calls.store.js';
import { keepHeldCall } from './held-call-runner.js';
import { McpSessionsStore, isUuid } from './mcp-sessions.store.js';
import { ToolCallEvents } from './tool-call-event.js';
import { ToolRefusal, ToolRefusalKind, declaredClient, errorResult, okResult, type ToolContext } from './tool-context.js';
import { domainKind, execResult, settledResult, statementResult, type ToolOutcome } from './tool-results.js';
import { PG_LIMITS, TunnelPgSession } from './tunnel-postgres.js';
import { SSH_LIMITS, TunnelSshSession, type ExecOutcome } from './tunnel-ssh.js';
import { VERSION } from './version.js';

const SQL_ACTIONS = ['sql:select', 'sql:insert', 'sql:update', 'sql:delete', 'sql:ddl', 'sql:admin'] as const;
const WAIT_POLL_MS = 250;
const MAX_WAIT_SECONDS = 300;
/** An approved held call has this long to store its result (the longest time limit plus a margin). */
const RESULT_OVERDUE_MS = (Math.max(PG_LIMITS.maxTimeoutSeconds, SSH_LIMITS.maxTimeoutSeconds) + 120) * 1000;
/** Below the 60 s after which MCP clients (the SDK's default) give up on a request. */
const DEFAULT_WAIT_SECONDS = 45;

const resourceName = z.string().min(1).max(63).describe('resource name, as list_resources shows it');
const roleName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$.-]{0,62}$/, 'a role name: letters, digits, _ $ . -, at most 63, not starting with a digit');
const approvalId = z.string().refine(isUuid, 'an approval id (UUID)').describe('the approval id a held call returned');

/** Everything a tool call needs besides its arguments. */
interface Call {
  ctx: ToolContext;
  tool: string;
  /** As the client sent them (recorded with SQL parameters masked). */
  args: Record<string, unknown>;
  resource?: string;
  /** Set by the tool: what goes into the audit event besides the outcome. */
  audit: Record<string, unknown>;
}


/**
 * The gateway's MCP tools. Each call is attributed to the principal, its token id and the client's
 * declared name and version; calls that reach a resource take the path of a native session (the
 * session broker's `connect` decision, the agent's statement or command policy, approvals, masking,
 * recording), so they show up in `/api/v1/sessions` like any other session, and every call is one
 * `mcp.tool_call` event in the audit chain.
 */
@Injectable()
export class McpToolsService {
  private readonly log = loggerFor(McpToolsService);
  /** SSH output is masked here with the session's `connect` rules; `hash` values are per process. */
  private readonly maskKey = randomBytes(32);
  private readonly events = new ToolCallEvents(randomBytes(32));

  constructor(
    @Inject(SessionBroker) private readonly broker: SessionBroker,
    @Inject(ResourcesService) private readonly resources: ResourcesService,
    @Inject(ActivePolicyService) private readonly policy: ActivePolicyService,
    @Inject(ApprovalsService) private readonly approvals: ApprovalsService,
    @Inject(AccessRequestsService) private readonly accessRequests: AccessRequestsService,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(HeldCallsStore) private readonly heldCalls: HeldCallsStore,
    @Inject(McpSessionsStore) private readonly sessions: McpSessionsStore,
  ) {}

  /** A server for one HTTP request: tools bound to that request's caller. */
  buildServer(ctx: ToolContext): McpServer {
    const server = new McpServer(
      { name: 'gateway', version: VERSION },
      {
        capabilities: { tools: {} },
        instructions:
          'Tools of an access gateway. Every call runs under your identity and the gateway\'s policy: statements and commands may be ' +
          'denied (the message names the policy), or held for a human approval (the result gives the approval id; call ' +
          'wait_for_approval with it: the held statement or command runs once, when approved). Values such as e-mail addresses ' +
          'and card numbers come back masked where policy says so.',
      },
    );
    const call = (tool: string, args: Record<string, unknown>, resource?: string): Call => ({ ctx, tool, args, resource, audit: {} });

    server.registerTool('list_resources', {
      description: 'Resources (databases, hosts) behind the gateway that you can see: type, environment, online status, whether you may connect (as `role`, a database role or SSH login, when given) and, for databases, which kinds of statements policy allows.',
      inputSchema: { role: roleName.optional().describe('database role or SSH login to ask about') },
      annotations: { readOnlyHint: true },
    }, ({ role }) => this.run(call('list_resources', { role }), (c) => this.listResources(c, role)));

    server.registerTool('postgres_query', {
      description: `Runs one SQL statement on a Postgres resource as a database role, through the gateway's agent: policy decides the statement (denied statements do not run; some need a human approval first), values come back masked where policy says so, and the statement is recorded. Returns columns, rows (as text), row count and whether the rows were cut at maxRows (default ${PG_LIMITS.defaultRows}, at most ${PG_LIMITS.maxRows}) or ${PG_LIMITS.maxBytes / 1024} KiB. Cancelled at timeoutSeconds (default ${PG_LIMITS.defaultTimeoutSeconds}, at most ${PG_LIMITS.maxTimeoutSeconds}). Use $1, $2 ... with params for values.`,
      inputSchema: {
        resource: resourceName,
        role: roleName.describe('database role to run as'),
        sql: z.string().min(1).max(100_000).describe('one SQL statement'),
        params: z.array(z.union([z.string().max(100_000), z.number(), z.boolean(), z.null()])).max(100).optional().describe('values for $1, $2 ...'),
        maxRows: z.number().int().min(1).max(PG_LIMITS.maxRows).optional(),
        timeoutSeconds: z.number().int().min(1).max(PG_LIMITS.maxTimeoutSeconds).optional(),
      },
    }, (args) => this.run(call('postgres_query', args, args.resource), (c) => this.postgresQuery(c, args)));

    server.registerTool('postgres_schema', {
      description: 'Tables, columns and their types that a database role can see on a Postgres resource (through the gateway, as a recorded read).',
      inputSchema: { resource: resourceName, role: roleName.describe('database role'), schema: z.string().min(1).max(63).optional().describe('only this schema') },
      annotations: { readOnlyHint: true },
    }, (args) => this.run(call('postgres_schema', args, args.resource), (c) => this.postgresSchema(c, args)));

    server.registerTool('ssh_exec', {
      description: `Runs one command on an SSH resource as a login, through the gateway's agent (a per-session certificate; policy decides the command by the programs and options it runs; some commands need a human approval first). Returns stdout, stderr (masked where policy says so, at most ${SSH_LIMITS.maxOutputBytes / 1024} KiB together) and the exit status.`,
      inputSchema: {
        resource: resourceName,
        login: roleName.describe('the login on the host'),
        command: z.string().min(1).max(32_768),
        timeoutSeconds: z.number().int().min(1).max(SSH_LIMITS.maxTimeoutSeconds).optional().describe(`default ${SSH_LIMITS.defaultTimeoutSeconds}`),
      },
    }, (args) => this.run(call('ssh_exec', args, args.resource), (c) => this.sshExec(c, args)));

    server.registerTool('request_access', {
      description: 'Asks for just-in-time access to a resource as a role (or login) for a while, with a reason: policy grants it at once, asks approvers, or refuses.',
      inputSchema: {
        resource: resourceName,
        role: roleName,
        duration: z.union([z.string().max(20), z.number().int()]).describe('"30m", "2h", or seconds (1 min to 7 days)'),
        reason: z.string().min(3).max(1000),
      },
    }, (args) => this.run(call('request_access', args, args.resource), (c) => this.requestAccess(c, args)));

    server.registerTool('get_approval', {
      description: 'The state of an approval you asked for (a held statement or command, or an access request), and the result of the held call once it ran.',
      inputSchema: { id: approvalId },
      annotations: { readOnlyHint: true },
    }, ({ id }) => this.run(call('get_approval', { id }), (c) => this.approvalState(c, id, 0)));

    server.registerTool('wait_for_approval', {
      description: `Waits (up to timeoutSeconds, default ${DEFAULT_WAIT_SECONDS}, at most ${MAX_WAIT_SECONDS}; stay below your client's request timeout) until an approval is decided; for a held statement or command that was approved, until it has run, and returns its result. Still pending: says so, call again. Denied or expired: says so (it did not run).`,
      inputSchema: { id: approvalId, timeoutSeconds: z.number().int().min(0).max(MAX_WAIT_SECONDS).optional() },
      annotations: { readOnlyHint: true },
    }, ({ id, timeoutSeconds }) => this.run(call('wait_for_approval', { id, timeoutSeconds }), (c) => this.approvalState(c, id, timeoutSeconds ?? DEFAULT_WAIT_SECONDS)));
    return server;
  }

  /** Runs a tool body, maps refusals to tool errors (never a stack trace) and audits the call. */
  private async run(c: Call, body: (c: Call) => Promise<{ result: CallToolResult; outcome: ToolOutcome }>): Promise<CallToolResult> {
    let result: CallToolResult;
    let outcome: ToolOutcome;
    const started = Date.now();
    try {
      ({ result, outcome } = await body(c));
    } catch (error) {
      if (error instanceof ToolRefusal) {
        result = errorResult(error.kind, error.message, error.details);
        outcome = error.kind === ToolRefusalKind.Denied ? 'denied' : 'failure';
      } else if (error instanceof DomainError) {
        result = errorResult(domainKind(error.code), error.message);
        outcome = error.code === DomainErrorCode.Forbidden ? 'denied' : 'failure';
      } else {
        const errorId = randomUUID();
        this.log.error({ err: error, errorId, tool: c.tool }, 'MCP tool call failed');
        result = errorResult('internal', `internal error in the gateway (error id ${errorId})`, { errorId });
        outcome = 'failure';
      }
    }
    const { principal } = c.ctx;
    const { sessionId: resourceSessionId, ...notes } = c.audit;
    const event = this.events.event({
      tool: c.tool, arguments: withoutUndefined(c.args), result, outcome, durationMs: Date.now() - started,
      notes: { ...(c.resource ? { resource: c.resource } : {}), ...notes, ...(resourceSessionId ? { resourceSessionId } : {}) },
    });
    if (c.ctx.mcpSessionId) {
      // The record of the MCP session; the call's own resource session (if any) is linked by `sessionId`.
      await this.sessions.recordEvent(c.ctx.mcpSessionId, 'mcp.tool_call', event);
    }
    await this.audit.append({
      action: 'mcp.tool_call',
      outcome: outcome === 'held' ? 'pending' : outcome,
      actor: principal,
      resource: c.resource ?? null,
      details: {
        tool: c.tool,
        tokenId: principal.tokenId ?? null,
        mcpSessionId: c.ctx.mcpSessionId,
        declaredClient: { name: c.ctx.client.name, version: c.ctx.client.version, declared: true },
        sourceIp: c.ctx.sourceAddress,
        ...(result.isError ? { error: (result.structuredContent as { error?: string } | undefined)?.error ?? null } : {}),
        decision: event.decision,
        durationMs: event.durationMs,
        ...c.audit,
      },
    });
    return result;
  }

  private async listResources(c: Call, role: string | undefined) {
    const { principal } = c.ctx;
    // What a tool call would be asked: `connect` with `via: "mcp"` (policies may treat MCP apart).
    const context = { via: 'mcp', tool: 'list_resources', ...(role ? { dbRole: role, login: role } : {}) };
    const items = (await this.resources.listGrouped()).map((r) => {
      const resource = { name: r.name, type: r.type, environment: r.environment ?? undefined, labels: r.labels };
      const connect = this.policy.evaluate({ principal, action: 'connect', resource, context }).effect;
      const base = { name: r.name, type: r.type, environment: r.environment, labels: r.labels, online: r.online, connect };
      switch (r.type) {
        case 'postgres':
          return {
            ...base,
            tools: ['postgres_query', 'postgres_schema'],
            // Without a statement: policies that read the statement's tables or functions may decide otherwise.
            // Asked as the agent asks: the role, and no `via` (the agent decides statements without it).
            statements: Object.fromEntries(SQL_ACTIONS.map((a) => [a, this.policy.evaluate({ principal, action: a, resource, context: role ? { dbRole: role } : {} }).effect])),
          };
        case 'ssh':
          return { ...base, tools: ['ssh_exec'], commands: 'decided per command (ssh:exec) by the programs and options it runs' };
        case 'mcp':
          // An MCP server behind an agent: its own tools, at its own endpoint (decided per call by mcp:call_tool).
          return { ...base, tools: [], endpoint: `/mcp/${r.name}` };
        default:
          return { ...base, tools: [] };
      }
    });
    return { result: okResult({ resources: items, ...(role ? { role } : {}) }), outcome: 'success' as const };
  }

  private async postgresQuery(c: Call, args: { resource: string; role: string; sql: string; params?: (string | number | boolean | null)[]; maxRows?: number; timeoutSeconds?: number }) {
    const timeoutSeconds = args.timeoutSeconds ?? PG_LIMITS.defaultTimeoutSeconds;
    const session = await TunnelPgSession.open(this.broker, {
      principal: c.ctx.principal, resource: args.resource, role: args.role, sourceAddress: c.ctx.sourceAddress, declared: declaredClient(c.ctx, c.tool), tool: c.tool, parentSessionId: c.ctx.mcpSessionId,
    });
    c.audit.sessionId = session.sessionId;
    let start;
    try {
      start = await session.run(args.sql, args.params ?? [], args.maxRows ?? PG_LIMITS.defaultRows, timeoutSeconds);
    } catch (error) {
      await session.close();
      throw error;
    }
    if (start.kind === 'held') {
      return this.held(c, start.approvalId, session.sessionId, start.completion, (end) => statementResult(end, session.sessionId, timeoutSeconds), () => session.close());
    }
    await session.close();
    return statementResult(start.end, session.sessionId, timeoutSeconds);
  }

  private async postgresSchema(c: Call, args: { resource: string; role: string; schema?: string }) {
    const session = await TunnelPgSession.open(this.broker, {
      principal: c.ctx.principal, resource: args.resource, role: args.role, sourceAddress: c.ctx.sourceAddress, declared: declaredClient(c.ctx, c.tool), tool: c.tool, parentSessionId: c.ctx.mcpSessionId,
    });
    c.audit.sessionId = session.sessionId;
    try {
      // information_schema shows only what the role has some privilege on.
      const sql = `SELECT table_schema, table_name, column_name, data_type, is_nullable FROM information_schema.columns
        WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND ($1::text IS NULL OR table_schema = $1::text)
        ORDER BY table_schema, table_name, ordinal_position`;
      const start = await session.run(sql, [args.schema ?? null], PG_LIMITS.maxRows, PG_LIMITS.defaultTimeoutSeconds);
      if (start.kind === 'held') throw new ToolRefusal(ToolRefusalKind.ApprovalRequired, `reading the schema needs an approval (${start.approvalId}); use postgres_query for it`);
      if (start.end.kind === 'error') return statementResult(start.end, session.sessionId, PG_LIMITS.defaultTimeoutSeconds);
      const tables = new Map<string, { schema: string; table: string; columns: { name: string; type: string; nullable: boolean }[] }>();
      for (const [schema, table, column, type, nullable] of start.end.outcome.rows) {
        const key = `${schema}.${table}`;
        const entry = tables.get(key) ?? { schema: schema ?? '', table: table ?? '', columns: [] };
        entry.columns.push({ name: column ?? '', type: type ?? '', nullable: nullable === 'YES' });
        tables.set(key, entry);
      }
      return { result: okResult({ resource: args.resource, role: args.role, tables: [...tables.values()], truncated: start.end.outcome.truncated, sessionId: session.sessionId }), outcome: 'success' as const };
    } finally {
      await session.close();
    }
  }

  private async sshExec(c: Call, args: { resource: string; login: string; command: string; timeoutSeconds?: number }) {
    const session = await TunnelSshSession.open(this.broker, {
      principal: c.ctx.principal, resource: args.resource, login: args.login, sourceAddress: c.ctx.sourceAddress, declared: declaredClient(c.ctx, c.tool), tool: c.tool, parentSessionId: c.ctx.mcpSessionId,
    });
    c.audit.sessionId = session.sessionId;
    const masker = new Masker(session.decision.obligations.masking, { key: this.maskKey });
    const toResult = (o: ExecOutcome) => execResult(o, masker, session.sessionId, args.timeoutSeconds ?? SSH_LIMITS.defaultTimeoutSeconds);
    let start;
    try {
      start = await session.exec(args.command, args.timeoutSeconds ?? SSH_LIMITS.defaultTimeoutSeconds);
    } catch (error) {
      await session.close();
      throw error;
    }
    if (start.kind === 'held') return this.held(c, start.approvalId, session.sessionId, start.completion, toResult, () => session.close());
    await session.close();
    return toResult(start.outcome);
  }

  /**
   * A call the agent holds for approval: checked to be this session's, recorded for its principal,
   * kept running here until it ran or was refused; the caller gets the approval at once.
   */
  private async held<T>(c: Call, id: string, sessionId: string, completion: Promise<T>, toResult: (o: T) => { result: CallToolResult; outcome: ToolOutcome }, close: () => Promise<void>) {
    const approval = await this.approvals.get(id, c.ctx.principal).catch(() => null);
    if (!approval || approval.sessionId !== sessionId) {
      // Not the approval of this session: never wait for (or report) someone else's.
      await close();
      throw new ToolRefusal(ToolRefusalKind.ResourceError, 'the agent held the call, but its approval could not be confirmed; it did not run');
    }
    c.audit.approvalId = id;
    const recorded = this.heldCalls.hold({ approvalId: id, principalId: c.ctx.principal.id, mcpSessionId: c.ctx.mcpSessionId, tool: c.tool, resource: approval.resourceName ?? c.resource ?? "", sessionId });
    keepHeldCall({
      store: this.heldCalls, approvalId: id, recorded, completion, expiresAt: approval.expiresAt, close, log: this.log,
      toResult: (o) => {
        const { result, outcome } = toResult(o);
        return { status: outcome === 'success' ? 'completed' : 'failed', result: { ...(result.structuredContent ?? {}), isError: result.isError === true } };
      },
    });
    await recorded;
    const view = approvalView(approval);
    return {
      result: errorResult(ToolRefusalKind.ApprovalRequired,
        `held for approval ${id}: it has NOT run. An approver (${view.approvers.join(', ')}) must approve it before ${view.expiresAt}; ` +
        `call wait_for_approval with {"id":"${id}"} to get its result once approved (it then runs exactly once).`,
        { approvalId: id, approvers: view.approvers, requiredApprovals: view.requiredApprovals, expiresAt: view.expiresAt, sessionId, decision: { effect: 'require_approval' } }),
      outcome: 'held' as const,
    };
  }

  private async requestAccess(c: Call, args: { resource: string; role: string; duration: string | number; reason: string }) {
    const parsed = accessRequestBodySchema.safeParse(args);
    if (!parsed.success) throw new ToolRefusal(ToolRefusalKind.Invalid, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const out = await this.accessRequests.request(c.ctx.principal, parsed.data, c.ctx.sourceAddress ?? undefined);
    const value = {
      accessRequest: accessRequestView(out.accessRequest),
      grant: out.grant ? grantView(out.grant) : null,
      approval: out.approval ? approvalView(out.approval) : null,
    };
    c.audit.accessRequestId = out.accessRequest.id;
    if (out.accessRequest.status === 'denied') {
      return { result: errorResult(ToolRefusalKind.Denied, `access refused by policy: ${(out.accessRequest.decision as { reasons?: string[] }).reasons?.join('; ') ?? 'denied'}`, value), outcome: 'denied' as const };
    }
    return { result: okResult(value), outcome: out.approval ? ('held' as const) : ('success' as const) };
  }

  /** get_approval (no wait) and wait_for_approval: the approval, and a held call's stored result. */
  private async approvalState(c: Call, id: string, waitSeconds: number) {
    c.audit.approvalId = id;
    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      const approval = await this.approvals.get(id, c.ctx.principal);
      const call = await this.heldCalls.find(id, c.ctx.principal.id);
      const view = approvalView(approval);
      const settled = approval.status !== 'pending';
      if (call && call.status !== 'held') {
        const { isError, ...rest } = call.result ?? {};
        const value = { approval: view, ...rest };
        if (isError !== true) return { result: okResult(value), outcome: 'success' as const };
        const kind = typeof rest.error === 'string' ? rest.error : 'failed';
        return { result: errorResult(kind, typeof rest.message === 'string' ? rest.message : 'the held call did not run', value), outcome: kind === 'denied' ? ('denied' as const) : ('failure' as const) };
      }
      // Approved long ago and still no result: the replica that kept the call stopped (a crash) before storing it.
      if (call && approval.status === 'approved' && approval.decidedAt && Date.now() - approval.decidedAt.getTime() > RESULT_OVERDUE_MS) {
        return {
          result: errorResult(ToolRefusalKind.ResourceError, `approval ${id} was approved at ${approval.decidedAt.toISOString()}, but the call's result never arrived (the gateway replica that held it may have stopped); it may have run: see GET /api/v1/sessions/${call.sessionId}/events`, { approval: view, sessionId: call.sessionId }),
          outcome: 'failure' as const,
        };
      }
      // A held call's own outcome (the agent's words) is stored once its session let go of it: wait for that.
      if (!call && settled) return settledResult(approval, view, false);
      if (Date.now() >= deadline) {
        if (settled && approval.status !== 'approved') return settledResult(approval, view, true);
        const state = approval.status === 'pending' ? `still pending (${approval.votes.length} of ${approval.requiredApprovals} approvals)` : 'approved; the call is running';
        return { result: okResult({ approval: view, status: approval.status, message: `approval ${id} is ${state}; call wait_for_approval again` }), outcome: 'success' as const };
      }
      await new Promise((r) => setTimeout(r, Math.min(WAIT_POLL_MS, Math.max(0, deadline - Date.now()))));
    }
  }
}


const withoutUndefined = (args: Record<string, unknown>) => Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
