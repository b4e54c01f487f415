import { Module, type DynamicModule } from '@nestjs/common';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { RedisModule } from './redis/redis.module.js';
import { EventsModule } from './events/events.module.js';
import { AuditModule } from './audit/audit.module.js';
import { IdentityModule } from './identity/identity.module.js';
import { PoliciesModule } from './policies/policies.module.js';
import { AgentsModule } from './agents/agents.module.js';
import { ResourcesModule } from './resources/resources.module.js';
import { HealthModule } from './health/health.module.js';
import { SessionsModule } from './sessions/sessions.module.js';
import { TunnelHubModule } from './tunnel-hub/tunnel-hub.module.js';
import { ConnectModule } from './connect/connect.module.js';
import { PgEndpointModule } from './pg-endpoint/pg-endpoint.module.js';
import { MysqlEndpointModule } from './mysql-endpoint/mysql-endpoint.module.js';
import { JobsModule } from './jobs/jobs.module.js';
import { ApprovalsModule } from './approvals/approvals.module.js';
import { GrantsModule } from './grants/grants.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';
import { SshEndpointModule } from './ssh-endpoint/ssh-endpoint.module.js';
import { McpModule } from './mcp/mcp.module.js';
import { K8sEndpointModule } from './k8s-endpoint/k8s-endpoint.module.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule,
        RedisModule,
        EventsModule,
        JobsModule,
        AuditModule,
        IdentityModule,
        PoliciesModule,
        AgentsModule,
        ResourcesModule,
        HealthModule,
        SessionsModule,
        ApprovalsModule,
        GrantsModule,
        TunnelHubModule,
        ConnectModule,
        PgEndpointModule,
        MysqlEndpointModule,
        WebhooksModule,
        SshEndpointModule,
        McpModule,
        K8sEndpointModule,
      ],
    };
  }
}
