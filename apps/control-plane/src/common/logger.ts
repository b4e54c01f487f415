import { pino, type Logger } from 'pino';
import type { LoggerService } from '@nestjs/common';

/** Central redaction list: tokens, passwords and keys never reach a log line. */
export const REDACT_PATHS = [
  'token', '*.token', 'accessToken', '*.accessToken', 'password', '*.password', 'credential', '*.credential',
  'secret', '*.secret', 'privateKey', '*.privateKey', 'authorization', '*.authorization',
  'req.headers.authorization', 'headers.authorization', 'headers.cookie',
];

let root: Logger | undefined;
// Class loggers are created at import time, before the config is read; keep them to apply the level later.
const children = new Set<Logger>();

export function rootLogger(level?: string): Logger {
  root ??= pino({ level: level ?? 'info', base: { service: 'control-plane' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
  if (level && root.level !== level) {
    root.level = level;
    for (const child of children) child.level = level;
  }
  return root;
}

/** One logger per class: `loggerFor(MyService)`. */
export function loggerFor(owner: string | { name: string }): Logger {
  const child = rootLogger().child({ component: typeof owner === 'string' ? owner : owner.name });
  children.add(child);
  return child;
}

/** Routes Nest's own framework logs into pino. */
export class NestPinoLogger implements LoggerService {
  private readonly pinoLog = loggerFor('nest');
  log(message: unknown, context?: unknown) { this.pinoLog.info({ context }, String(message)); }
  error(message: unknown, trace?: unknown, context?: unknown) { this.pinoLog.error({ context, trace }, String(message)); }
  warn(message: unknown, context?: unknown) { this.pinoLog.warn({ context }, String(message)); }
  debug(message: unknown, context?: unknown) { this.pinoLog.debug({ context }, String(message)); }
  verbose(message: unknown, context?: unknown) { this.pinoLog.trace({ context }, String(message)); }
}
