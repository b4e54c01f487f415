import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';

/**
 * This process among the control plane replicas: a new id per process (a restart is a new replica)
 * and the stable name it was configured with (REPLICA_NAME), by which a restarted replica finds
 * what its earlier life left behind.
 */
@Injectable()
export class ThisReplica {
  readonly id = randomUUID();
  readonly name: string;
  readonly startedAt = new Date();

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.name = config.replica.name;
  }
}
