/** Redis down must not hang an API call or the shutdown: callers fail closed without it. */
export const REDIS_OPERATION_TIMEOUT_MS = 3000;

/** `operation`, or a rejection naming `what` once Redis has not answered in time. */
export function boundedRedis<T>(operation: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: Redis did not answer within ${REDIS_OPERATION_TIMEOUT_MS} ms`)), REDIS_OPERATION_TIMEOUT_MS);
  });
  return Promise.race([operation, timeout]).finally(() => clearTimeout(timer));
}
