import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { DomainError, DomainErrorCode } from './domain-error.js';
import { loggerFor } from './logger.js';

function statusFor(code: DomainErrorCode): number {
  switch (code) {
    case DomainErrorCode.ValidationFailed:
    case DomainErrorCode.PolicyInvalid:
      return 400;
    case DomainErrorCode.Unauthenticated:
      return 401;
    case DomainErrorCode.Forbidden:
      return 403;
    case DomainErrorCode.NotFound:
      return 404;
    case DomainErrorCode.Conflict:
      return 409;
    case DomainErrorCode.Unavailable:
      return 503;
  }
}

/**
 * Express refuses a path with broken percent-encoding (URIError) and a body that is not JSON
 * (SyntaxError) before any route runs; Nest hands them over as a 400 with the cause attached.
 */
function malformedRequestMessage(cause: unknown): string | undefined {
  if (cause instanceof URIError) return 'the request path is not valid percent-encoded UTF-8';
  if (cause instanceof SyntaxError) return `the request body is not valid JSON: ${cause.message}`;
  return undefined;
}

/** Maps every error to a JSON body; a 500 gets an error id that is also in the log line. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly log = loggerFor(HttpErrorFilter);

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request>();
    // Set explicitly: a route's own content type (e.g. asciicast) must not label a JSON error.
    if (!res.headersSent) res.type('application/json');
    if (error instanceof DomainError) {
      const status = statusFor(error.code);
      if (error.code === DomainErrorCode.Unauthenticated) {
        const header = error.details?.wwwAuthenticate;
        res.setHeader('WWW-Authenticate', typeof header === 'string' ? header : 'Bearer realm="gateway"');
      }
      const { wwwAuthenticate: _omit, ...details } = error.details ?? {};
      res.status(status).json({ error: error.code, message: error.message, ...details });
      return;
    }
    if (error instanceof HttpException) {
      const status = error.getStatus();
      const malformed = status === 400 ? malformedRequestMessage(error.cause) : undefined;
      if (malformed) {
        res.status(400).json({ error: DomainErrorCode.ValidationFailed, message: malformed });
        return;
      }
      const body = error.getResponse();
      const message = typeof body === 'string' ? body : ((body as { message?: unknown }).message ?? error.message);
      res.status(status).json({ error: status === 404 ? 'not_found' : 'http_error', message });
      return;
    }
    const errorId = randomUUID();
    this.log.error({ err: error, errorId, path: req.path, correlationId: req.headers['x-request-id'] }, 'unhandled error');
    res.status(500).json({ error: 'internal', message: 'internal error', errorId });
  }
}
