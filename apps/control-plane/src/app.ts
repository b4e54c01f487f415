import 'reflect-metadata';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { AppConfig } from './config/app-config.js';
import { AppModule } from './app.module.js';
import { HttpErrorFilter } from './common/http-error.filter.js';
import { NestPinoLogger, rootLogger } from './common/logger.js';
import { requestContext } from './common/request-context.middleware.js';
import { McpHttpHandler } from './mcp/mcp-http.handler.js';
import { McpUpstreamHandler } from './mcp/mcp-upstream.handler.js';
import { APP_CONFIG } from './config/config.module.js';
import { consoleHandler } from './console/console-http.js';

/** Builds the HTTP application (used by main.ts and by the tests). */
export async function createApp(config: AppConfig): Promise<NestExpressApplication> {
  rootLogger(config.logLevel);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger: new NestPinoLogger(),
    bodyParser: false,
  });
  // /mcp reads its own body (JSON-RPC parse errors, its own size limit), so it comes before the JSON parser.
  const mcp = app.get(McpHttpHandler);
  const mcpRelay = app.get(McpUpstreamHandler);
  app.use('/mcp', (req: IncomingMessage & { path?: string }, res: ServerResponse, next: () => void) => {
    if (req.path === '/') return void mcp.handle(req, res);
    // `/mcp/<resource>`: an MCP server behind an agent.
    const resource = /^\/([a-z0-9][a-z0-9._-]{0,62})\/?$/.exec(req.path ?? '')?.[1];
    if (resource) return void mcpRelay.handle(req, res, resource);
    next();
  });
  app.useBodyParser('json', { limit: '1mb' });
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestContext);
  // The web console at `/` (its files, config and SPA routes); every API and gateway path passes through.
  app.use(consoleHandler(app.get<AppConfig>(APP_CONFIG)));
  app.useGlobalFilters(new HttpErrorFilter());
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Gateway control plane')
      .setDescription('REST API for the security team: identity, policies, agents, resources, audit.')
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'OIDC access token' })
      .build(),
  );
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
  return app;
}
