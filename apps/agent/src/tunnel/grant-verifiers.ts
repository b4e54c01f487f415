import { SessionGrantVerifier, type SessionGrantVerifierOptions } from '@gw/tunnel';

type GrantKey = SessionGrantVerifierOptions['publicKey'];

/**
 * One session-grant verifier per agent id and signing key, kept across reconnections and shared by
 * the agent's connections to replicas that sign with the same key: a grant used once stays used, so
 * a replayed grant is refused wherever it arrives. Replicas with keys of their own get verifiers of
 * their own (a grant signed by one replica never verifies under another's key anyway).
 */
export class GrantVerifierCache {
  private readonly verifiers = new Map<string, SessionGrantVerifier>();

  for(agentId: string, key: GrantKey): SessionGrantVerifier {
    const id = `${agentId} ${JSON.stringify(key)}`;
    let verifier = this.verifiers.get(id);
    if (!verifier) {
      verifier = new SessionGrantVerifier({ publicKey: key, agentId });
      this.verifiers.set(id, verifier);
    }
    return verifier;
  }
}
