import { SessionGrantVerifier, type SessionGrantVerifierOptions } from '@gw/tunnel';

type GrantKey = SessionGrantVerifierOptions['publicKey'];

/**
 * One session-grant verifier per agent id and signing key, shared by every connection of the agent
 * (to each replica, and across reconnections): a grant used on one tunnel stays used on all of them,
 * so a replayed grant is refused wherever it arrives.
 */
export class GrantVerifierCache {
  private entry: { agentId: string; keyJson: string; verifier: SessionGrantVerifier } | undefined;

  for(agentId: string, key: GrantKey): SessionGrantVerifier {
    const keyJson = JSON.stringify(key);
    if (this.entry && this.entry.agentId === agentId && this.entry.keyJson === keyJson) return this.entry.verifier;
    const verifier = new SessionGrantVerifier({ publicKey: key, agentId });
    this.entry = { agentId, keyJson, verifier };
    return verifier;
  }

  get current(): SessionGrantVerifier | undefined {
    return this.entry?.verifier;
  }
}
