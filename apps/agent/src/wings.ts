import type { Logger } from 'pino';
import type { SessionSignal, SessionSignalAck, ToolPinCheck, ToolPinCheckAck } from '@gw/contracts';
import type { DurableApprovals, RequestApproval } from './approvals/approval-client.js';
import type { AgentResource } from './config/agent-config.js';
import type { ProtocolHandler } from './handlers/protocol-handler.js';
import { TcpHandler } from './handlers/tcp-handler.js';
import type { PolicySnapshotText } from './policy/policy-holder.js';
import type { KubernetesHandler } from './protocols/kubernetes/kubernetes-handler.js';
import type { MysqlHandler } from './protocols/mysql/mysql-handler.js';
import type { McpHandler } from './protocols/mcp/mcp-handler.js';
import type { PostgresHandler } from './protocols/postgres/postgres-handler.js';
import type { SshHandler } from './protocols/ssh/ssh-handler.js';
import type { RecordingShipper } from './recording/recording-shipper.js';

export interface WingDeps {
  shipper: RecordingShipper;
  spoolDir: string;
  log: Logger;
  agentId: () => string | undefined;
  policySnapshot: () => PolicySnapshotText | null | undefined;
  requestApproval: RequestApproval;
  durableApprovals: DurableApprovals;
  checkToolPins: (check: ToolPinCheck) => Promise<ToolPinCheckAck>;
  /** Asks the control plane to cancel or end another session by its client-visible id (any agent, any replica). */
  signalSession: SignalSession;
}

export type SignalSession = (signal: SessionSignal) => Promise<SessionSignalAck>;

/** The protocol handlers of this agent, loaded for the resource types it serves. */
export interface Wings {
  handlers: ProtocolHandler[];
  postgres: PostgresHandler | undefined;
  ssh: SshHandler | undefined;
  kubernetes: KubernetesHandler | undefined;
  mysql: MysqlHandler | undefined;
  mcp: McpHandler | undefined;
  /** A wing holds statements or commands for approval: the agent needs an approval client. */
  approvals: boolean;
}

/**
 * Loads only the wings the configured resources need. The Postgres wing brings the SQL parser
 * (WebAssembly), node-postgres and the policy engine (WebAssembly); the MySQL wing node-sql-parser and mysql2; the SSH wing ssh2, the shell
 * parser and the policy engine; the Kubernetes wing the policy engine and its HTTP relay: an agent that serves plain TCP never loads them, which keeps its
 * memory at what a relay needs (see README, Benchmarks).
 */
export async function loadWings(resources: readonly AgentResource[], deps: WingDeps): Promise<Wings> {
  const types = new Set(resources.map((r) => r.type));
  const handlers: ProtocolHandler[] = [new TcpHandler()];
  let postgres: PostgresHandler | undefined;
  let ssh: SshHandler | undefined;
  let kubernetes: KubernetesHandler | undefined;
  let mysql: MysqlHandler | undefined;
  let mcp: McpHandler | undefined;
  if (types.has('postgres') || types.has('ssh') || types.has('kubernetes') || types.has('mysql') || types.has('mcp')) {
    const { PolicyHolder } = await import('./policy/policy-holder.js');
    const policy = new PolicyHolder(deps.policySnapshot, deps.log);
    if (types.has('postgres')) {
      const { PostgresHandler } = await import('./protocols/postgres/postgres-handler.js');
      postgres = new PostgresHandler({ policy, shipper: deps.shipper, agentId: deps.agentId, spoolDir: deps.spoolDir, log: deps.log, requestApproval: deps.requestApproval, signalSession: deps.signalSession });
      handlers.push(postgres);
    }
    if (types.has('mysql')) {
      const { MysqlHandler } = await import('./protocols/mysql/mysql-handler.js');
      mysql = new MysqlHandler({ policy, shipper: deps.shipper, agentId: deps.agentId, spoolDir: deps.spoolDir, log: deps.log, signalSession: deps.signalSession, ...(deps.requestApproval ? { requestApproval: deps.requestApproval } : {}) });
      handlers.push(mysql);
    }
    if (types.has('ssh')) {
      const { SshHandler } = await import('./protocols/ssh/ssh-handler.js');
      ssh = new SshHandler({ policy, shipper: deps.shipper, spoolDir: deps.spoolDir, log: deps.log, requestApproval: deps.requestApproval });
      handlers.push(ssh);
    }
    if (types.has('kubernetes')) {
      const { KubernetesHandler } = await import('./protocols/kubernetes/kubernetes-handler.js');
      kubernetes = new KubernetesHandler({ policy, shipper: deps.shipper, spoolDir: deps.spoolDir, log: deps.log, requestApproval: deps.requestApproval, durableApprovals: deps.durableApprovals });
      handlers.push(kubernetes);
    }
    if (types.has('mcp')) {
      const { McpHandler } = await import('./protocols/mcp/mcp-handler.js');
      mcp = new McpHandler({ policy, shipper: deps.shipper, spoolDir: deps.spoolDir, log: deps.log, requestApproval: deps.requestApproval, checkToolPins: deps.checkToolPins });
      handlers.push(mcp);
    }
  }
  return { handlers, postgres, ssh, kubernetes, mysql, mcp, approvals: postgres !== undefined || ssh !== undefined || kubernetes !== undefined || mysql !== undefined || mcp !== undefined };
}
