import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { httpDuration, httpRequests } from '../health/metrics.js';
import { loggerFor } from './logger.js';

const log = loggerFor('http');
const SAFE_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Correlation id per request (kept from X-Request-Id when sane), one access-log line, metrics. */
export function requestContext(req: Request, res: Response, next: NextFunction): void {
  const incoming = req.headers['x-request-id'];
  const correlationId = typeof incoming === 'string' && SAFE_ID.test(incoming) ? incoming : randomUUID();
  req.headers['x-request-id'] = correlationId;
  res.setHeader('X-Request-Id', correlationId);
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
    httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    httpDuration.observe({ method: req.method, route }, seconds);
    const principal = (req as Request & { principal?: { id: string; tokenId?: string } }).principal;
    log.info(
      { correlationId, method: req.method, path: req.path, status: res.statusCode, ms: Math.round(seconds * 1000), principal: principal?.id, tokenId: principal?.tokenId },
      'request',
    );
  });
  next();
}
