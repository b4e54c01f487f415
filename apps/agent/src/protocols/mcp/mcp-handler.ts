import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { Masker } from '@gw/masking';
import type { MaskingObligation, PolicyDecision, PolicyInput } from '@gw/policy';
import type { AgentResource } from '../../config/agent-config.js';
import type { ProtocolHandler, ProtocolOpenContext } from '../../handlers/protocol-handler.js';
import type { RecordingShipper } from '../../recording/recording-shipper.js';
import { holdThrough, type RequestApproval } from '../../approvals/approval-client.js';
import type { PolicyHolder } from '../../policy/policy-holder.js';
import { principalFromGrant } from '../postgres/statement-policy.js';
import { loadMaskingKey } from '../postgres/masking-key.js';
import { MCP_SESSION_ENDED_METHOD, type McpSessionEndedReport, type ToolPinCheck, type ToolPinCheckAck } from '@gw/contracts';
import type { JsonRpcMessage } from './message-gate.js';
import { McpSession } from './mcp-session.js';

export type McpOptions = NonNullable<AgentResource['mcp']>;

/** Longest JSON-RPC message on the tunnel stream (one line); the control plane's request limit is lower. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export interface McpHandlerOptions {
  policy: PolicyHolder;
  shipper: RecordingShipper;
  spoolDir: string;
  log: Logger;
  requestApproval?: RequestApproval;
  checkToolPins?: (check: ToolPinCheck) => Promise<ToolPinCheckAck>;
}

/**
 * Serves `mcp` streams: one stream is one client's MCP session with the server. The stream carries
 * JSON-RPC messages, one per line, from the control plane's `/mcp/<resource>` endpoint; the agent
 * starts the server for the session (a stdio program) or connects to it (Streamable HTTP) with the
 * credentials of its config, and puts every message through McpSession.
 */
export class McpHandler implements ProtocolHandler {
  readonly type = 'mcp' as const;
  private maskingKey: Buffer | undefined;
  private readonly live = new Set<Duplex>();

  constructor(private readonly o: McpHandlerOptions) {}

  close(): void {
    for (const s of this.live) s.destroy();
  }

  open(ctx: ProtocolOpenContext): void {
    const { resource, grant, header, log } = ctx;
    const options = resource.mcp;
    if (!options) return ctx.reject('REJECTED', `resource ${resource.name} has no mcp block in the agent config`);
    const principal = principalFromGrant(grant.principal);
    const sourceIp = header.client.address ?? '';
    const policyResource: PolicyInput['resource'] = { name: resource.name, type: 'mcp', ...(resource.environment !== undefined ? { environment: resource.environment } : {}), labels: resource.labels };
    const connect = this.decide({ principal, action: 'connect', resource: policyResource, context: { sourceIp, hasGrant: true } });
    if (connect.effect === 'deny') return ctx.reject('REJECTED', `not allowed to connect to ${resource.name}: ${connect.reasons.join('; ')}`);
    const upstream = upstreamTransport(options, log);
    upstream.start().then(
      () => {
        if (ctx.signal.aborted) return void upstream.close();
        let stream: Duplex;
        try {
          stream = ctx.accept();
        } catch (error) {
          log.debug({ err: error }, 'open cancelled while starting the MCP server');
          return void upstream.close();
        }
        this.start(ctx, stream, upstream, principal, policyResource, connect, sourceIp, options);
      },
      (error: unknown) => {
        log.warn({ err: error }, 'MCP server did not start');
        ctx.reject('RESOURCE_UNAVAILABLE', `the MCP server of ${resource.name} could not be started or reached: ${(error as Error).message}`);
      },
    );
  }

  private start(ctx: ProtocolOpenContext, stream: Duplex, upstream: Transport, principal: ReturnType<typeof principalFromGrant>, policyResource: PolicyInput['resource'], connect: PolicyDecision, sourceIp: string, options: McpOptions): void {
    const { grant, resource, header, log } = ctx;
    const recorder = this.o.shipper.session(grant.sid);
    recorder.record('mcp.session', {
      principal: { id: principal.id, displayName: principal.displayName ?? null, kind: principal.kind, appId: principal.appId ?? null },
      resource: resource.name,
      upstream: options.command ? { stdio: options.command } : { url: options.url },
      declared: { applicationName: header.client.applicationName ?? null, userAgent: header.client.userAgent ?? null },
      sourceIp: sourceIp || null,
    });
    this.live.add(stream);
    const session = new McpSession({
      principal, resourceName: resource.name, policyResource, options, upstream, recorder, sourceIp, log,
      toClient: (m) => {
        if (!stream.destroyed) stream.write(`${JSON.stringify(m)}\n`);
      },
      decide: (input) => this.decide(input),
      masker: (masking) => this.masker(masking),
      connectMasking: connect.obligations.masking,
      hold: this.o.requestApproval ? holdThrough(this.o.requestApproval, grant.sid, 'command') : undefined,
      acceptedTools: async (tools) => {
        // Fails closed: without an answer from the control plane, no tool is shown.
        const ack = await this.o.checkToolPins?.({ sessionId: grant.sid, resource: resource.name, acceptNew: options.acceptNewTools, tools: [...tools] }).catch((err: unknown) => {
          log.warn({ err }, 'could not check the tool definitions with the control plane');
          return undefined;
        });
        if (!ack?.ok) log.warn({ error: ack && !ack.ok ? ack.error : 'no answer' }, 'tool definitions not confirmed: every tool withheld');
        return new Set(ack?.ok ? ack.accepted : []);
      },
    });
    upstream.onmessage = (m) => {
      session.fromServer(m).catch((error: unknown) => log.error({ err: error }, 'MCP server message failed in the agent'));
    };
    upstream.onclose = () => {
      const reason = 'the MCP server closed its connection (it stopped or crashed)';
      session.end(reason);
      recorder.record('mcp.server_closed', { reason });
      session.afterSent(() => {
        if (!stream.destroyed) stream.write(`${JSON.stringify({ jsonrpc: '2.0', method: MCP_SESSION_ENDED_METHOD, params: { reason } satisfies McpSessionEndedReport })}\n`);
        stream.end();
      });
    };
    // A line from the server that is not JSON, or not a JSON-RPC message: dropped (and recorded), the session goes on.
    upstream.onerror = (error) => {
      log.debug({ err: error }, 'MCP server transport error');
      recorder.record('mcp.server_malformed', { reason: error.message.slice(0, 500) });
    };
    readLines(stream, MAX_MESSAGE_BYTES, (line) => {
      let message: JsonRpcMessage;
      try {
        message = JSON.parse(line) as JsonRpcMessage;
      } catch {
        stream.write(`${JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } })}\n`);
        return;
      }
      session.fromClient(message).catch((error: unknown) => {
        log.error({ err: error }, 'MCP message failed in the agent');
        stream.write(`${JSON.stringify({ jsonrpc: '2.0', id: message.id ?? null, error: { code: -32603, message: 'the gateway agent failed on this message' } })}\n`);
      });
    }, () => {
      log.warn('MCP message over the limit: ending the session');
      stream.destroy();
    });
    stream.on('error', () => undefined);
    stream.once('close', () => {
      this.live.delete(stream);
      session.end('the session ended');
      void upstream.close();
      recorder.record('session.end', { reason: Date.now() >= grant.sessionExpiresAt * 1000 ? 'session expired' : 'stream closed' });
    });
  }

  private decide(input: PolicyInput): PolicyDecision {
    const current = this.o.policy.current();
    if (!current.engine) return { effect: 'deny', determiningPolicies: [], reasons: [current.reason], errors: [], obligations: { masking: { entities: [], columns: [] }, requireGrant: false } };
    return current.engine.evaluate(input);
  }

  private masker(masking: MaskingObligation): Masker | undefined {
    if (masking.entities.length === 0) return undefined;
    return new Masker(masking, { key: (this.maskingKey ??= loadMaskingKey(undefined, this.o.spoolDir)) });
  }
}

/** The server: a program the agent runs (its environment from the config's secret references), or a URL with the config's headers. */
function upstreamTransport(options: McpOptions, log: Logger): Transport {
  if (options.command) {
    const env: Record<string, string> = { ...getDefaultEnvironment() };
    for (const [name, value] of Object.entries(options.env)) env[name] = value.reveal();
    const transport = new StdioClientTransport({ command: options.command, args: options.args, env, stderr: 'pipe', ...(options.cwd ? { cwd: options.cwd } : {}) });
    transport.stderr?.on('data', (chunk: Buffer) => log.debug({ stderr: chunk.toString('utf8').slice(0, 2000) }, 'MCP server stderr'));
    return transport;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers)) headers[name] = value.reveal();
  return new StreamableHTTPClientTransport(new URL(options.url!), { requestInit: { headers } });
}

/** Calls `onLine` for each newline-terminated line of the stream; `onTooLong` when a line passes `limit` bytes. */
function readLines(stream: Duplex, limit: number, onLine: (line: string) => void, onTooLong: () => void): void {
  let buffered: Buffer[] = [];
  let size = 0;
  stream.on('data', (chunk: Buffer) => {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      buffered.push(chunk.subarray(start, nl));
      const line = Buffer.concat(buffered).toString('utf8');
      buffered = [];
      size = 0;
      start = nl + 1;
      if (line.trim() !== '') onLine(line);
    }
    if (start < chunk.length) {
      buffered.push(chunk.subarray(start));
      size += chunk.length - start;
      if (size > limit) onTooLong();
    }
  });
}
