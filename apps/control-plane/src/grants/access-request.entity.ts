import { Column, Entity, PrimaryColumn } from 'typeorm';

export type AccessRequestStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled';

@Entity('access_requests')
export class AccessRequestEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text', { name: 'principal_id' }) principalId!: string;
  /** The requester as the token proved it (for the grant and the audit trail). */
  @Column('jsonb') principal!: Record<string, unknown>;
  @Column('text', { name: 'resource_name' }) resourceName!: string;
  @Column('text') role!: string;
  /** What was asked for; the grant may be shorter (capped by policy). */
  @Column('integer', { name: 'duration_seconds' }) durationSeconds!: number;
  @Column('text') reason!: string;
  @Column('text') status!: AccessRequestStatus;
  /** The policy decision that routed the request: effect, policies, reasons, cap. */
  @Column('jsonb', { nullable: true }) decision!: Record<string, unknown> | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'decided_at', nullable: true }) decidedAt!: Date | null;
}
