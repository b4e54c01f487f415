import { Column, Entity, PrimaryColumn } from 'typeorm';

export type WebhookFormat = 'json' | 'slack';

@Entity('webhook_subscriptions')
export class WebhookSubscriptionEntity {
  @PrimaryColumn('uuid') id!: string;
  /** May carry a credential in its path (Slack incoming webhooks): shown in full only at creation. */
  @Column('text') url!: string;
  @Column('text', { nullable: true }) description!: string | null;
  /** Event types or patterns (`approval.*`, `*`). */
  @Column('text', { array: true }) events!: string[];
  @Column('text') format!: WebhookFormat;
  /** HMAC key; kept in clear because signing needs it, never returned after creation. */
  @Column('text') secret!: string;
  @Column('text', { name: 'created_by' }) createdBy!: string;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  /** Set by DELETE: the subscription gets nothing more, its delivery history stays readable. */
  @Column('timestamptz', { name: 'disabled_at', nullable: true }) disabledAt!: Date | null;
  @Column('text', { name: 'disabled_by', nullable: true }) disabledBy!: string | null;
}
