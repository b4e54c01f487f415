export const REDIS = Symbol('REDIS');
/** A second connection: a subscribed ioredis client cannot issue other commands. */
export const REDIS_SUBSCRIBER = Symbol('REDIS_SUBSCRIBER');
/**
 * A third connection for messages that must arrive now or never (a kill, a cancel): no offline
 * queue and no re-send after a reconnect, so a publish the caller was told had failed cannot
 * arrive later and act behind its back.
 */
export const REDIS_PROMPT_PUBLISHER = Symbol('REDIS_PROMPT_PUBLISHER');
/** The ReplicaMessageSeal built from the key in the database. */
export const REPLICA_MESSAGE_SEAL = Symbol('REPLICA_MESSAGE_SEAL');

/** Channel names, prefixed so several gateways can share one Redis. */
export const channels = (prefix: string) => ({
  policyActivated: `${prefix}:policy:activated`,
  agentRevoked: `${prefix}:agent:revoked`,
  sessionKill: `${prefix}:session:kill`,
  pgCancel: `${prefix}:pg:cancel`,
  sessionCancel: `${prefix}:session:cancel`,
  domainEvents: `${prefix}:events`,
});
