import type { Duplex } from 'node:stream';
import { SSH_INNER_ALGORITHMS } from '@gw/contracts';
import type { ConnectConfig } from 'ssh2';

/** How long the agent has to complete the inner SSH handshake over the tunnel. */
const INNER_READY_TIMEOUT_MS = 20_000;

/**
 * The ssh2 client settings of the control plane's inner SSH connection to the agent, over a tunnel
 * stream: no client authentication and any host key (the tunnel, with the agent's credential and the
 * session grant, authenticates the agent; its inner host key is ephemeral), the inner algorithms only.
 */
export function innerSshConfig(sock: Duplex, username: string, ident: string): ConnectConfig {
  return {
    sock,
    username,
    authHandler: ['none'],
    hostVerifier: () => true,
    algorithms: {
      cipher: [...SSH_INNER_ALGORITHMS.cipher],
      kex: [...SSH_INNER_ALGORITHMS.kex],
      serverHostKey: [...SSH_INNER_ALGORITHMS.serverHostKey],
      compress: [...SSH_INNER_ALGORITHMS.compress],
    },
    readyTimeout: INNER_READY_TIMEOUT_MS,
    ident,
  };
}
