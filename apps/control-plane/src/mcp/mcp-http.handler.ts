import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS, isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { McpSessionsStore, type McpSessionRecord } from './mcp-sessions.store.js';
import { McpToolsService } from './mcp-tools.service.js';
import { JSONRPC, header, jsonRpcError, readBody, sourceOf } from './mcp-http-io.js';
import { McpRequestAuth } from './mcp-request-auth.js';
import { invalidClientMessage, type Message } from './mcp-relay-session.js';


/**
 * `/mcp`: MCP over Streamable HTTP, as a protected resource (RFC 9728). Order of checks, each with
 * its own answer: Origin (403), bearer token (401 + WWW-Authenticate naming the metadata), body size
 * (413) and JSON (400, -32700), session (400 without `Mcp-Session-Id`, 404 unknown or ended); then
 * the SDK's transport handles the JSON-RPC exchange (Accept, content type, protocol version, batch).
 *
 * Each request gets its own server and a transport without session state: the session itself is a
 * Postgres row (McpSessionsStore), so any replica serves any request of any session. The server
 * sends nothing unprompted, so GET (a server-to-client stream) is 405.
 */
@Injectable()
export class McpHttpHandler {
  private readonly log = loggerFor(McpHttpHandler);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(McpRequestAuth) private readonly auth: McpRequestAuth,
    @Inject(McpSessionsStore) private readonly sessions: McpSessionsStore,
    @Inject(McpToolsService) private readonly tools: McpToolsService,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.handleChecked(req, res);
    } catch (error) {
      const errorId = randomUUID();
      this.log.error({ err: error, errorId }, 'MCP request failed');
      if (!res.headersSent) jsonRpcError(res, 500, -32603, `internal error (error id ${errorId})`);
      else res.end();
    }
  }

  private async handleChecked(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.auth.originAllowed(req, res)) return;
    if (req.method !== 'POST' && req.method !== 'DELETE') {
      res.setHeader('Allow', 'POST, DELETE');
      return jsonRpcError(res, 405, JSONRPC.serverError, 'Method not allowed: this server sends no server-initiated messages (POST requests, DELETE to end a session)');
    }
    const principal = await this.auth.authenticate(req, res);
    if (!principal) return;

    if (req.method === 'DELETE') {
      const id = header(req, 'mcp-session-id');
      if (!id) return jsonRpcError(res, 400, JSONRPC.serverError, 'Bad Request: Mcp-Session-Id header is required');
      if (!(await this.sessions.end(id, principal))) return jsonRpcError(res, 404, JSONRPC.sessionNotFound, 'Session not found');
      res.writeHead(204).end();
      return;
    }

    const body = await readBody(req, this.config.mcp.maxRequestBytes);
    if (body === 'too-large') {
      res.setHeader('Connection', 'close');
      return jsonRpcError(res, 413, JSONRPC.serverError, `Payload Too Large: requests to /mcp are limited to ${this.config.mcp.maxRequestBytes} bytes`);
    }
    let message: unknown;
    try {
      message = JSON.parse(body.toString('utf8'));
    } catch {
      return jsonRpcError(res, 400, JSONRPC.parseError, 'Parse error: Invalid JSON');
    }

    // A `tools/call` without an id, an id of another type, an id twice in a batch: refused, saying which
    // (the SDK would take the first for a notification and drop it without a word).
    const candidates = (Array.isArray(message) ? message : [message]).filter((m): m is Message => typeof m === 'object' && m !== null && !Array.isArray(m) && (m as Message).jsonrpc === '2.0');
    const invalid = invalidClientMessage(candidates);
    if (invalid) return jsonRpcError(res, 400, JSONRPC.invalidRequest, `Invalid Request: ${invalid}`);

    let session: McpSessionRecord | null = null;
    let mcpSessionId: string | null;
    const initialize = Array.isArray(message) ? message.find((m) => isInitializeRequest(m)) : isInitializeRequest(message) ? message : undefined;
    if (initialize) {
      if (Array.isArray(message) && message.length > 1) return jsonRpcError(res, 400, JSONRPC.invalidRequest, 'Invalid Request: Only one initialization request is allowed');
      const requested = initialize.params.protocolVersion;
      const version = SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
      const info = initialize.params.clientInfo;
      mcpSessionId = await this.sessions.create(principal, version, { name: info.name.slice(0, 200), version: info.version.slice(0, 100) }, sourceOf(req));
      res.setHeader('Mcp-Session-Id', mcpSessionId);
    } else {
      const id = header(req, 'mcp-session-id');
      if (!id) return jsonRpcError(res, 400, JSONRPC.serverError, 'Bad Request: Mcp-Session-Id header is required');
      session = await this.sessions.touch(id, principal);
      if (!session) return jsonRpcError(res, 404, JSONRPC.sessionNotFound, 'Session not found');
      mcpSessionId = session.id;
    }

    const server = this.tools.buildServer({
      principal,
      sourceAddress: sourceOf(req),
      mcpSessionId,
      client: session?.client ?? { name: initialize?.params.clientInfo.name ?? null, version: initialize?.params.clientInfo.version ?? null },
    });
    // No session state in the transport (the session is the Postgres row above); answers as JSON.
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    // The token stays here: nothing behind the gateway ever sees it.
    await transport.handleRequest(req, res, message);
  }
}
