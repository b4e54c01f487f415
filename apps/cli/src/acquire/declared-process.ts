import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** The header `gw` sends with what it knows of the local process: recorded by the gateway as declared, never trusted. */
export const DECLARED_PROCESS_HEADER = 'gateway-declared-process';

const MAX_COMMAND = 256;

/** The container id from the cgroup path (Docker, containerd, CRI-O write a 64-hex id there), if any. */
function containerId(): string | undefined {
  try {
    const text = readFileSync('/proc/self/cgroup', 'utf8');
    return /([0-9a-f]{64})/.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

/** Command, pid, host and container id of this `gw`: what it can say about itself, unverified. */
export function declaredProcess(argv: readonly string[] = process.argv): Record<string, string | number> {
  const command = argv.slice(2).map((arg) => (arg.includes('~') || arg.length > 64 ? '…' : arg)).join(' ').slice(0, MAX_COMMAND);
  const id = containerId();
  return { command: `gw ${command}`.trim(), pid: process.pid, host: hostname().slice(0, 255), ...(id ? { containerId: id } : {}) };
}

/** The header value: JSON, ASCII-safe. */
export function declaredProcessHeader(): string {
  return JSON.stringify(declaredProcess()).replace(/[^\x20-\x7e]/g, '?');
}
