import { Column, Entity, PrimaryColumn } from 'typeorm';

export type ResourceType = 'postgres' | 'mysql' | 'ssh' | 'kubernetes' | 'tcp' | 'mcp';

@Entity('resources')
export class ResourceEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'agent_id' }) agentId!: string;
  @Column('text') name!: string;
  @Column('text') type!: ResourceType;
  @Column('text', { nullable: true }) environment!: string | null;
  @Column('jsonb') labels!: Record<string, string>;
  @Column('boolean') online!: boolean;
  @Column('timestamptz', { name: 'last_heartbeat_at', nullable: true }) lastHeartbeatAt!: Date | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
}
