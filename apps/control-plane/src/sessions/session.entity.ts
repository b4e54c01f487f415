import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { SessionKiller } from './session-kill.js';

export type SessionStatus = 'opening' | 'active' | 'ended' | 'killed' | 'failed';

@Entity('sessions')
export class SessionEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text', { name: 'principal_id' }) principalId!: string;
  @Column('jsonb') principal!: Record<string, unknown>;
  @Column('text', { name: 'token_id', nullable: true }) tokenId!: string | null;
  @Column('text', { name: 'resource_name' }) resourceName!: string;
  @Column('text', { name: 'resource_type' }) resourceType!: string;
  @Column('uuid', { name: 'agent_id', nullable: true }) agentId!: string | null;
  /** The control plane replica that holds the client connection (null for sessions from before replicas were tracked). */
  @Column('uuid', { name: 'replica_id', nullable: true }) replicaId!: string | null;
  @Column('text', { nullable: true }) role!: string | null;
  @Column('uuid', { name: 'grant_id', nullable: true }) grantId!: string | null;
  @Column('text', { name: 'source_address', nullable: true }) sourceAddress!: string | null;
  /** What the client claimed about itself (application_name, client version, user agent): never trusted. */
  @Column('jsonb') declared!: Record<string, unknown>;
  @Column('text') status!: SessionStatus;
  @Column('text', { name: 'end_reason', nullable: true }) endReason!: string | null;
  /** Who killed the session (an operator or a grant); null when it ended by itself. */
  @Column('jsonb', { name: 'killed_by', nullable: true }) killedBy!: SessionKiller | null;
  @Column('bigint', { name: 'bytes_in' }) bytesIn!: string;
  @Column('bigint', { name: 'bytes_out' }) bytesOut!: string;
  @Column('timestamptz', { name: 'started_at' }) startedAt!: Date;
  @Column('timestamptz', { name: 'ended_at', nullable: true }) endedAt!: Date | null;
  /** The id the client was given for this session (Postgres BackendKeyData pid, MySQL connection id); see SessionSignals. */
  @Column('integer', { name: 'client_key', nullable: true }) clientKey!: number | null;
  /** The MCP session whose tool call opened this session; null for sessions opened by a client directly. */
  @Column('uuid', { name: 'parent_session_id', nullable: true }) parentSessionId!: string | null;
}
