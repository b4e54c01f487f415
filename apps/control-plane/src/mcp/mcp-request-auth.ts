import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { TokenRejectedError, type Principal } from '@gw/identity';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { ATTESTATION_HEADER, TokenAuthenticator, bearerTokenOf } from '../identity/token-authenticator.js';
import { JSONRPC, header, jsonRpcError, sourceOf } from './mcp-http-io.js';
import { protectedResourceMetadataUrl } from './protected-resource.js';

/** The checks every MCP endpoint (`/mcp`, `/mcp/<resource>`) makes before anything else: Origin, then the bearer token. */
@Injectable()
export class McpRequestAuth {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(TokenAuthenticator) private readonly tokens: TokenAuthenticator,
  ) {}

  /** DNS rebinding: a browser page on another origin must not reach the endpoint (403). */
  originAllowed(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    if (origin === undefined || this.config.mcp.allowedOrigins.includes(origin)) return true;
    jsonRpcError(res, 403, JSONRPC.serverError, `Forbidden: origin ${origin.slice(0, 200)} is not allowed`);
    return false;
  }

  /**
   * The verified principal, or null after answering 401 as RFC 9728 and the MCP spec ask: the
   * header names the metadata of the endpoint asked (`/mcp`, or `/mcp/<server>`).
   */
  async authenticate(req: IncomingMessage, res: ServerResponse, server?: string): Promise<Principal | null> {
    const metadata = protectedResourceMetadataUrl(this.config, server);
    const token = bearerTokenOf(header(req, 'authorization'));
    if (!token) {
      res.setHeader('WWW-Authenticate', `Bearer resource_metadata="${metadata}"`);
      jsonRpcError(res, 401, JSONRPC.serverError, 'Unauthorized: a bearer token (OIDC access token for the gateway) is required');
      return null;
    }
    try {
      return await this.tokens.authenticate(token, { sourceIp: sourceOf(req), path: 'mcp', attestation: header(req, ATTESTATION_HEADER)?.trim() });
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
      const description = error.reason.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "'").slice(0, 200);
      res.setHeader('WWW-Authenticate', `Bearer resource_metadata="${metadata}", error="invalid_token", error_description="${description}"`);
      jsonRpcError(res, 401, JSONRPC.serverError, `Unauthorized: token refused: ${error.reason}`);
      return null;
    }
  }
}
