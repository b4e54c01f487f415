import type { Env } from '../settings.js';

/** What a command may touch: injected so tests run commands in-process. */
export interface CliContext {
  env: Env;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Resolves when the user asks a long-running command (connect) to stop. */
  interrupted: () => Promise<void>;
}
