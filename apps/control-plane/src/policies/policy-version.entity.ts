import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('policy_versions')
export class PolicyVersionEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('integer') version!: number;
  @Column('text') text!: string;
  @Column('text') sha256!: string;
  @Column('text', { nullable: true }) description!: string | null;
  @Column('text', { name: 'created_by' }) createdBy!: string;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('boolean', { name: 'is_active' }) isActive!: boolean;
  @Column('timestamptz', { name: 'activated_at', nullable: true }) activatedAt!: Date | null;
  @Column('text', { name: 'activated_by', nullable: true }) activatedBy!: string | null;
}
