/** The verified process on a principal or a principal snapshot (session, access request), if any. */
export function processOf(principal: object): Record<string, unknown> | null {
  const process = (principal as { process?: unknown }).process;
  return typeof process === 'object' && process !== null && !Array.isArray(process) ? (process as Record<string, unknown>) : null;
}
