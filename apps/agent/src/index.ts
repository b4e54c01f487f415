export { startAgent, helloFor, type AgentHandle, type AgentStats, type AgentStopReason, type StartAgentOptions } from './agent.js';
export {
  AgentConfigError,
  loadAgentConfig,
  parseAgentConfig,
  validateAgentConfig,
  type AgentConfig,
  type AgentResource,
  type ParseOptions,
} from './config/agent-config.js';
export { SecretValue } from './config/secret.js';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { handlerRegistry, type ProtocolHandler, type ProtocolOpenContext, type ProtocolHandlerRegistry } from './handlers/protocol-handler.js';
export { TcpHandler } from './handlers/tcp-handler.js';
export { AGENT_VERSION } from './version.js';
export { ApprovalClient, type ApprovalOutcome, type ApprovalHooks, type ApprovalRequested, type RequestApproval } from './approvals/approval-client.js';
export { loadOrCreateCaKey, caPublicKeyLine } from './protocols/ssh/ssh-ca.js';
export { decodeCertificate, signUserCertificate, ED25519_CERT_ALGO } from './protocols/ssh/openssh-certificate.js';
