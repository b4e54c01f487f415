import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('audit_events')
export class AuditEventEntity {
  /** Position in the chain; bigint comes back from pg as a string. */
  @PrimaryColumn('bigint') seq!: string;
  @Column('uuid') id!: string;
  @Column('timestamptz', { name: 'occurred_at' }) occurredAt!: Date;
  @Column('text', { name: 'actor_id', nullable: true }) actorId!: string | null;
  @Column('jsonb', { nullable: true }) actor!: Record<string, unknown> | null;
  @Column('text') action!: string;
  @Column('text', { nullable: true }) resource!: string | null;
  @Column('text') outcome!: string;
  @Column('jsonb') details!: Record<string, unknown>;
  @Column('text', { name: 'prev_hash' }) prevHash!: string;
  @Column('text') hash!: string;
  /** How `hash` was computed (audit-chain.ts): 1 for rows written before version 2 existed. */
  @Column('smallint', { name: 'chain_version' }) chainVersion!: number;
}
