export const REDIS = Symbol('REDIS');
/** A second connection: a subscribed ioredis client cannot issue other commands. */
export const REDIS_SUBSCRIBER = Symbol('REDIS_SUBSCRIBER');

/** Channel names, prefixed so several gateways can share one Redis. */
export const channels = (prefix: string) => ({
  policyActivated: `${prefix}:policy:activated`,
  agentRevoked: `${prefix}:agent:revoked`,
  sessionKill: `${prefix}:session:kill`,
  pgCancel: `${prefix}:pg:cancel`,
  domainEvents: `${prefix}:events`,
});
