import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { ThisReplica } from '../replicas/this-replica.js';
import { isUuid } from './mcp-sessions.store.js';
import { JSONRPC, jsonRpcError } from './mcp-http-io.js';

/** Set on a request one replica passes to another: the receiver never passes it on again. */
export const FORWARDED_HEADER = 'x-gw-mcp-forwarded-by';
/** Headers of the hop, not of the request. */
const HOP_HEADERS = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer']);

/**
 * `/mcp/<resource>` sessions on any replica: the session's tunnel stream lives on the replica that
 * opened it (its `sessions.replica_id`), so a request of that session reaching another replica is
 * passed to the holder over HTTP, at its address in the `replicas` table (REPLICA_AGENT_URL, else
 * PUBLIC_URL), and the answer (JSON or an SSE stream) is passed back as it comes. The holder checks
 * the token and the session's owner again; the token stays inside the control plane.
 */
@Injectable()
export class McpReplicaForwarder {
  private readonly log = loggerFor(McpReplicaForwarder);

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(ThisReplica) private readonly replica: ThisReplica,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The address of the live replica that holds this active MCP session, if it is another one. */
  async holderOf(req: IncomingMessage, sessionId: string): Promise<string | undefined> {
    if (req.headers[FORWARDED_HEADER] !== undefined || !isUuid(sessionId)) return undefined;
    const rows = await this.dataSource.query<{ agent_url: string }[]>(
      `SELECT r.agent_url FROM sessions s JOIN replicas r ON r.id = s.replica_id
        WHERE s.id = $1 AND s.status IN ('opening', 'active') AND r.id <> $2 AND r.agent_url IS NOT NULL AND r.last_seen_at >= now() - $3::interval`,
      [sessionId, this.replica.id, `${this.config.replica.staleAfterMs} milliseconds`],
    );
    return rows[0]?.agent_url;
  }

  /** Passes the request (its body already read) to the holder and its answer back. */
  forward(req: IncomingMessage, res: ServerResponse, holder: string, resource: string, body: Buffer | undefined): Promise<void> {
    const target = new URL(`${holder}/mcp/${resource}`);
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !HOP_HEADERS.has(name)) headers[name] = value;
    headers[FORWARDED_HEADER] = this.replica.id;
    if (body) headers['content-length'] = String(body.length);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      const upstream = send(target, { method: req.method, headers }, (answer) => {
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_HEADERS.has(name)) out[name] = value;
        res.writeHead(answer.statusCode ?? 502, out);
        res.flushHeaders();
        answer.pipe(res);
        answer.once('end', resolve);
        answer.once('error', () => resolve(void res.destroy()));
      });
      // The client going away ends the hop too (a GET stream, a long call).
      res.once('close', () => upstream.destroy());
      upstream.once('error', (err) => {
        this.log.warn({ err: err.message, holder }, 'passing an MCP request to the replica that holds its session failed');
        if (!res.headersSent) jsonRpcError(res, 502, JSONRPC.serverError, 'the gateway replica that holds this session could not be reached; initialize a new session');
        else res.destroy();
        resolve();
      });
      upstream.end(body);
    });
  }
}
