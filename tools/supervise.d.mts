import type { ChildProcess } from 'node:child_process';

export interface Supervisor {
  readonly child: ChildProcess;
  readonly restarts: number;
  onRestart(listener: (child: ChildProcess) => void): void;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function supervise(opts: {
  name: string;
  spawn: () => ChildProcess;
  minDelayMs?: number;
  maxDelayMs?: number;
  stableAfterMs?: number;
  log?: (line: string) => void;
}): Supervisor;
