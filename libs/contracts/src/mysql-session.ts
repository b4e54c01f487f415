/**
 * A `mysql` tunnel stream, between the control plane's MySQL endpoint and the agent.
 *
 * Control plane -> agent: first one start frame (a 4-byte big-endian length, then `MysqlSessionStart`
 * as UTF-8 JSON), then the client's packets after its login, relayed unchanged (4-byte headers and
 * sequence ids included).
 *
 * Agent -> control plane: server packets. The agent logs in upstream itself (ephemeral user or
 * configured credentials) and answers the client's login with one OK packet carrying sequence id
 * `loginSeq`, then relays. When it cannot open the session it sends one ERR packet (sequence id
 * `loginSeq`, a MySQL error code and a message for the client) and ends the stream.
 */
export interface MysqlSessionStart {
  /** The database user the client asked for (the part of its user name before the last `@`). */
  dbUser: string;
  /** The schema the client asked for at connect, if any. */
  schema: string | null;
  /** Capability flags the client and the gateway agreed on; the agent's upstream session must speak the same. */
  capabilities: number;
  /** The client's character set number from its handshake response. */
  charset: number;
  /** The client's connection attributes (declared, not verified: program name, client version). */
  attributes: Record<string, string>;
  /** The connection id the gateway gave the client in its handshake (what the client's `KILL QUERY` names). */
  connectionId: number;
  /** The sequence id of the agent's OK or ERR answer to the login. */
  loginSeq: number;
}

/** Largest start frame accepted (attributes included). */
export const MAX_MYSQL_START_FRAME = 64 * 1024;

export function encodeMysqlStart(start: MysqlSessionStart): Buffer {
  const json = Buffer.from(JSON.stringify(start), 'utf8');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(json.length);
  return Buffer.concat([header, json]);
}
