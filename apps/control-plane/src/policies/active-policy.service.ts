import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PolicyEngine, type PolicyDecision, type PolicyInput } from '@gw/policy';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { channels } from '../redis/redis.module.js';
import { RedisChannels } from '../redis/redis-channels.js';
import { PolicyVersionEntity } from './policy-version.entity.js';

export interface ActivePolicySnapshot {
  version: number;
  sha256: string;
  text: string;
}

type ActivationListener = (snapshot: ActivePolicySnapshot) => void;

/**
 * Holds the compiled active policy set of this replica. Activation anywhere is announced on Redis,
 * and every replica reloads from Postgres (the source of truth), so a lost message only delays.
 */
@Injectable()
export class ActivePolicyService implements OnModuleInit, OnModuleDestroy {
  private readonly log = loggerFor(ActivePolicyService);
  private current: { snapshot: ActivePolicySnapshot; engine: PolicyEngine } | undefined;
  private readonly listeners = new Set<ActivationListener>();
  private readonly channel: string;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(RedisChannels) private readonly redisChannels: RedisChannels,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.channel = channels(config.redis.prefix).policyActivated;
  }

  async onModuleInit(): Promise<void> {
    await this.reload();
    // Postgres stays the source of truth: a lost message only delays the reload.
    this.redisChannels.listen(this.channel, () => {
      this.reload().catch((err: unknown) => this.log.error({ err }, 'policy reload failed'));
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.redisChannels.stop(this.channel);
  }

  get snapshot(): ActivePolicySnapshot | undefined {
    return this.current?.snapshot;
  }

  /** Default deny: with no active policy every decision is a deny that says why. */
  evaluate(input: PolicyInput): PolicyDecision {
    if (!this.current) return noPolicyDecision();
    return this.current.engine.evaluate(input);
  }

  onActivation(listener: ActivationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async reload(): Promise<void> {
    const active = await this.dataSource.getRepository(PolicyVersionEntity).findOne({ where: { isActive: true } });
    if (!active) {
      this.current = undefined;
      return;
    }
    if (this.current?.snapshot.sha256 === active.sha256 && this.current.snapshot.version === active.version) return;
    try {
      const engine = PolicyEngine.compile(active.text);
      this.current = { snapshot: { version: active.version, sha256: active.sha256, text: active.text }, engine };
      this.log.info({ version: active.version }, 'active policy loaded');
      for (const listener of this.listeners) listener(this.current.snapshot);
    } catch (err) {
      // Fail closed: an active version that no longer compiles leaves no engine, so everything is denied.
      this.current = undefined;
      this.log.error({ err, version: active.version }, 'active policy does not compile; denying everything');
    }
  }

  async announceActivation(): Promise<void> {
    await this.reload();
    await this.redisChannels.publish(this.channel, 'reload');
  }
}

export function noPolicyDecision(): PolicyDecision {
  return {
    effect: 'deny',
    determiningPolicies: [],
    reasons: ['no policy version is active (default deny)'],
    errors: [],
    obligations: { masking: { entities: [], columns: [] }, requireGrant: false },
  };
}
