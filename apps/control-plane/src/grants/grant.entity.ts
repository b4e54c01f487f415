import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('grants')
export class GrantEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'access_request_id', nullable: true }) accessRequestId!: string | null;
  @Column('text', { name: 'principal_id' }) principalId!: string;
  @Column('text', { name: 'resource_name' }) resourceName!: string;
  /** The verified process of the principal that asked for it (pipeline run, pod ...); null when none was proven. */
  @Column('jsonb', { nullable: true }) process!: Record<string, unknown> | null;
  /** Database role (or login) the grant covers. */
  @Column('text') role!: string;
  @Column('timestamptz', { name: 'starts_at' }) startsAt!: Date;
  @Column('timestamptz', { name: 'expires_at' }) expiresAt!: Date;
  @Column('timestamptz', { name: 'revoked_at', nullable: true }) revokedAt!: Date | null;
  @Column('text', { name: 'revoked_by', nullable: true }) revokedBy!: string | null;
  /** Set once the expiry was processed (sessions ended, audited, announced). */
  @Column('timestamptz', { name: 'expired_at', nullable: true }) expiredAt!: Date | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

export type GrantState = 'active' | 'revoked' | 'expired';

export function grantState(g: GrantEntity, now = new Date()): GrantState {
  if (g.revokedAt) return 'revoked';
  if (g.expiredAt || g.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'active';
}
