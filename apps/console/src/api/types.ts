/** The REST API's shapes, as far as the console reads them. */
export interface Vote {
  approverId: string;
  approverName?: string;
  decision: 'approve' | 'deny';
  comment?: string;
  at: string;
}

export interface Approval {
  id: string;
  kind: 'access_request' | 'statement' | 'command' | 'kubernetes_request';
  status: 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled';
  resource: string;
  principalId: string;
  process: Record<string, unknown> | null;
  sessionId?: string;
  accessRequestId?: string;
  subject: Record<string, unknown>;
  detail?: Record<string, unknown>;
  requiredApprovals: number;
  approvers: string[];
  votes: Vote[];
  scope?: string | null;
  createdAt: string;
  expiresAt: string;
  decidedAt?: string;
  youMayDecide?: boolean;
}

export interface Session {
  id: string;
  status: 'opening' | 'active' | 'ended' | 'killed' | 'failed';
  principal: { id?: string; displayName?: string; kind?: string; process?: Record<string, unknown> } & Record<string, unknown>;
  tokenId: string | null;
  resource: { name: string; type: string };
  role: string | null;
  grantId: string | null;
  sourceAddress: string | null;
  declared: Record<string, unknown> | null;
  startedAt: string;
  endedAt: string | null;
  endReason: string | null;
  killedBy: Record<string, unknown> | null;
  bytesIn: number;
  bytesOut: number;
}

export interface RecordingEvent {
  seq: number;
  at: string;
  type: string;
  data: Record<string, unknown>;
}

export interface Grant {
  id: string;
  principalId: string;
  resource: string;
  role: string;
  state: string;
  accessRequestId: string | null;
  startsAt: string;
  expiresAt: string;
  revokedAt?: string;
}

export interface AccessRequest {
  id: string;
  principalId: string;
  resource: string;
  role: string;
  durationSeconds: number;
  reason: string;
  status: string;
  createdAt: string;
  decidedAt: string | null;
}

export interface Resource {
  name: string;
  type: string;
  environment?: string | null;
  labels: Record<string, string>;
  online: boolean;
  lastHeartbeatAt?: string | null;
  access: string;
  agents?: { agentId?: string; online?: boolean; lastHeartbeatAt?: string | null }[];
}

export interface PolicyVersion {
  version: number;
  description?: string | null;
  active?: boolean;
  createdAt?: string;
  createdBy?: string;
  text?: string;
}

export interface Items<T> {
  items: T[];
}
