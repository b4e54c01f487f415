export interface RecordedRequest {
  method: string;
  path: string;
  token: string | null;
  accept: string | null;
  impersonateUser: string | null;
  impersonateGroups: string[];
  clientCertificate: string | null;
  userAgent: string | null;
  user?: string;
  groups?: string[];
}

export interface TestApiServer {
  url: string;
  port: number;
  caFile: string;
  caPem: string;
  agentToken: string;
  requests: RecordedRequest[];
  tokens: Map<string, { user: string; groups: string[]; expiresAt: number; agent?: boolean; serviceAccount?: string; expirationSeconds?: number }>;
  store: { rv: number; objects: Map<string, Record<string, unknown>> };
  /** Refuses (403) the requests of `user` with `method` (any when absent) under `pathPrefix`, as RBAC without the role would. */
  deny(rule: { user: string; method?: string; pathPrefix: string }): void;
  expireMintedTokens(): void;
  close(): Promise<void>;
}

export function startTestApiServer(options?: { port?: number; agentToken?: string; logLines?: number; stateDir?: string; realExec?: boolean }): Promise<TestApiServer>;
