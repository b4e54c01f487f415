/**
 * Failures that say "the database cannot serve you right now", not "this request is wrong": the
 * server is down, restarting, shutting down, out of connection slots, or the connection broke. A
 * client that gets one of these may retry; the gateway answers them with a SQLSTATE that says so.
 */
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);
const NETWORK_CODES = /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)$/;
const NETWORK_MESSAGES = /Connection terminated|connection timeout|Client has encountered a connection error|terminating connection due to administrator command|the database system is (starting up|shutting down|in recovery mode)/i;

/** The SQLSTATE a client retries on, for a transient failure of the gateway's own database or a resource. */
export const RETRYABLE_SQLSTATE = '57P03';

/** Whether `error` (a node-postgres or TypeORM error, or a socket error) is a transient database failure. */
export function isTransientDatabaseError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (TRANSIENT_SQLSTATES.has(code) || NETWORK_CODES.test(code))) return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && NETWORK_MESSAGES.test(message)) return true;
    // TypeORM wraps the driver's error; AggregateError (connect to several addresses) holds others.
    const inner = (e as { driverError?: unknown; cause?: unknown; errors?: unknown[] });
    e = inner.driverError ?? inner.cause ?? inner.errors?.[0];
  }
  return false;
}
