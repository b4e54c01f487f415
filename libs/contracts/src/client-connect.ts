/**
 * The client side of a session: `gw connect` (and later other local helpers) opens one WebSocket per
 * local TCP connection to `GET /api/v1/connect?resource=<name>` with `Authorization: Bearer <token>`.
 * The server sends one text message `{"type":"ready","sessionId":...}` when the stream to the
 * resource is open; after that, binary messages are the raw bytes both ways. Refusals and endings
 * are WebSocket close codes with a human reason.
 */
export const CONNECT_PATH = '/api/v1/connect';

export const CONNECT_CLOSE = {
  /** Normal end of the session (either side closed). */
  normal: 1000,
  unauthenticated: 4401,
  /** Policy refused, or approval required (the reason says which). */
  forbidden: 4403,
  unknownResource: 4404,
  /** Killed by an administrator, or the grant ended. */
  terminated: 4408,
  /** The agent serving the resource went away mid-session. */
  agentLost: 4410,
  /** The resource answered with an error (refused connection, unreachable). */
  resourceError: 4502,
  /** No online agent serves the resource. */
  resourceOffline: 4503,
  internal: 4500,
} as const;

export type ConnectReady = { type: 'ready'; sessionId: string };
