import { PolicyEngine } from '@gw/policy';
import type { Logger } from 'pino';

export interface PolicySnapshotText {
  version: number;
  sha256: string;
  text: string;
}

/**
 * The agent's one policy module, shared by every protocol wing (Postgres statements, SSH commands):
 * the compiled form of the latest policy snapshot from the control plane. Compiled once per new
 * snapshot (by hash). No snapshot, or one that fails to compile, leaves `engine` undefined: every
 * statement is then denied (fail closed).
 */
export class PolicyHolder {
  private compiledSha: string | undefined;
  private compiled: PolicyEngine | undefined;
  private failure: string | undefined;

  constructor(
    private readonly snapshot: () => PolicySnapshotText | null | undefined,
    private readonly log: Logger,
  ) {}

  /** The engine for the current snapshot, or the reason there is none. */
  current(): { engine: PolicyEngine; version: number } | { engine: undefined; reason: string } {
    const snap = this.snapshot();
    if (!snap) return { engine: undefined, reason: 'no policy received from the control plane yet' };
    if (snap.sha256 !== this.compiledSha) {
      this.compiledSha = snap.sha256;
      try {
        this.compiled = PolicyEngine.compile(snap.text);
        this.failure = undefined;
        this.log.info({ version: snap.version }, 'policy compiled');
      } catch (error) {
        this.compiled = undefined;
        this.failure = `policy version ${snap.version} does not compile: ${(error as Error).message.slice(0, 300)}`;
        this.log.error({ version: snap.version, err: error }, 'policy snapshot does not compile; denying every statement');
      }
    }
    if (!this.compiled) return { engine: undefined, reason: this.failure ?? 'no usable policy' };
    return { engine: this.compiled, version: snap.version };
  }
}
