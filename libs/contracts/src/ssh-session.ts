/**
 * An `ssh` tunnel stream, between the control plane's SSH endpoint and the agent.
 *
 * The stream carries a second SSH connection: the control plane is its client, the agent its server.
 * The control plane terminates the user's SSH connection (it reads the OIDC token there) and replays
 * every channel and request of the user on this inner connection: `session` channels with pty-req,
 * env, window-change, signal, exec, shell and `subsystem sftp`, and `direct-tcpip` channels. The agent
 * decides each of them by policy, records them, and replays the allowed ones to the target with its own
 * credentials. Exit statuses, stderr and EOF travel back the same way.
 *
 * Inner authentication is `none` with the login as user name: the tunnel grant (verified by the agent
 * before the stream opens) already names the session, principal, resource and login. The agent's
 * inner host key is ephemeral and not checked, for the same reason.
 */
export const SSH_INNER_ALGORITHMS = {
  // One fast AEAD cipher and one key exchange: the inner link needs no negotiation range.
  cipher: ['aes128-gcm@openssh.com'],
  kex: ['curve25519-sha256', 'curve25519-sha256@libssh.org'],
  serverHostKey: ['ssh-ed25519'],
  compress: ['none'],
} as const;

/**
 * The user name the gateway's SSH endpoint expects: `<login>@<resource>`. The resource name comes after
 * the last `@` (resource names cannot contain one); the login is everything before it.
 */
export function parseSshUsername(username: string): { login: string; resource: string } | undefined {
  const at = username.lastIndexOf('@');
  if (at <= 0 || at === username.length - 1) return undefined;
  const login = username.slice(0, at);
  const resource = username.slice(at + 1);
  if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(resource)) return undefined;
  // POSIX portable user names (plus the common extras); nothing a shell or sshd would read twice.
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,31}$/.test(login)) return undefined;
  return { login, resource };
}
