import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('agents')
export class AgentEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') name!: string;
  /** SHA-256 of the one-time credential's secret part; the credential itself is never stored. */
  @Column('text', { name: 'credential_hash' }) credentialHash!: string;
  @Column('text', { nullable: true }) description!: string | null;
  @Column('text', { name: 'created_by' }) createdBy!: string;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'revoked_at', nullable: true }) revokedAt!: Date | null;
  @Column('text', { name: 'revoked_by', nullable: true }) revokedBy!: string | null;
  @Column('timestamptz', { name: 'last_seen_at', nullable: true }) lastSeenAt!: Date | null;
  @Column('text', { nullable: true }) version!: string | null;
  /** Connected to some replica right now (cleared on disconnect and by the stale sweep). */
  @Column('boolean') connected!: boolean;
  /** When set, the agent may authenticate with an OIDC token of this principal instead of its credential. */
  @Column('text', { name: 'oidc_principal_id', nullable: true }) oidcPrincipalId!: string | null;
}
