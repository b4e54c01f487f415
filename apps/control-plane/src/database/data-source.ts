import { DataSource } from 'typeorm';
import pg from 'pg';
import { AgentEntity } from '../agents/agent.entity.js';
import { AuditEventEntity } from '../audit/audit-event.entity.js';
import { PolicyVersionEntity } from '../policies/policy-version.entity.js';
import { ResourceEntity } from '../resources/resource.entity.js';
import { InitialSchema1764300000000 } from './migrations/1764300000000-initial-schema.js';
import { AgentOidcIdentity1764400000000 } from './migrations/1764400000000-agent-oidc-identity.js';
import { ApprovalsAndGrants1764500000000 } from './migrations/1764500000000-approvals-and-grants.js';
import { SessionEntity } from '../sessions/session.entity.js';
import { AccessRequestEntity } from '../grants/access-request.entity.js';
import { GrantEntity } from '../grants/grant.entity.js';
import { ApprovalEntity } from '../approvals/approval.entity.js';
import { WebhookDeliveries1764560000000 } from './migrations/1764560000000-webhook-deliveries.js';
import { ApprovalDetail1764610000000 } from './migrations/1764610000000-approval-detail.js';
import { ReplicaMessageKeyAndKillActor1764620000000 } from './migrations/1764620000000-replica-message-key-and-kill-actor.js';
import { McpSessionsAndHeldCalls1764700000000 } from './migrations/1764700000000-mcp-sessions-and-held-calls.js';
import { KubernetesRequestApprovals1765010000000 } from './migrations/1765010000000-kubernetes-request-approvals.js';
import { KubernetesRequestFingerprint1765100000000 } from './migrations/1765100000000-kubernetes-request-fingerprint.js';
import { McpSessionRecords1765120000000 } from './migrations/1765120000000-mcp-session-records.js';
import { ProcessAttribution1765150000000 } from './migrations/1765150000000-process-attribution.js';
import { SessionClientKeys1765320000000 } from './migrations/1765320000000-session-client-keys.js';
import { SessionEventChunks1765400000000 } from './migrations/1765400000000-session-event-chunks.js';
import { AuditNoTruncate1765600000000 } from './migrations/1765600000000-audit-no-truncate.js';
import { AuditAppendFunction1765500000000 } from './migrations/1765500000000-audit-append-function.js';
import { SessionReplicas1765200000000 } from './migrations/1765200000000-session-replicas.js';
import { WebhookSubscriptionEntity } from '../webhooks/webhook-subscription.entity.js';
import { WebhookDeliveryEntity } from '../webhooks/webhook-delivery.entity.js';

export const ENTITIES = [
  AgentEntity, ResourceEntity, PolicyVersionEntity, AuditEventEntity, SessionEntity,
  AccessRequestEntity, GrantEntity, ApprovalEntity,
  WebhookSubscriptionEntity, WebhookDeliveryEntity,
];
export const MIGRATIONS = [InitialSchema1764300000000, AgentOidcIdentity1764400000000, ApprovalsAndGrants1764500000000, WebhookDeliveries1764560000000,
  ApprovalDetail1764610000000, ReplicaMessageKeyAndKillActor1764620000000, McpSessionsAndHeldCalls1764700000000, KubernetesRequestApprovals1765010000000,
  KubernetesRequestFingerprint1765100000000,
  McpSessionRecords1765120000000,
  ProcessAttribution1765150000000,
  SessionReplicas1765200000000,
  SessionClientKeys1765320000000,
  SessionEventChunks1765400000000,
  AuditAppendFunction1765500000000,
  AuditNoTruncate1765600000000,
];

export function createDataSource(url: string): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    logging: false,
    extra: { max: 20 },
  });
}

/** Creates the target database when missing (quick start on a fresh machine). */
export async function ensureDatabaseExists(url: string): Promise<void> {
  const target = new URL(url);
  const dbName = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_-]+$/.test(dbName)) throw new Error(`refusing to create database with unusual name "${dbName}"`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${dbName}"`);
  } catch (error) {
    // Two processes starting at once: the loser sees duplicate_database, which is fine.
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await client.end();
  }
}
