import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis } from '../redis/redis-connection.js';
import { boundedRedis } from '../redis/bounded.js';
import { APP_CONFIG } from '../config/config.module.js';
import { runsJobs, type AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { ACCESS_TIMERS_QUEUE, jobIdFor, type JobName, type JobPayloads } from './job-catalogue.js';

type Handler<N extends JobName> = (payload: JobPayloads[N]) => Promise<void>;

/**
 * Delayed jobs on BullMQ (grant expiry, approval timeouts). Every replica runs a worker; BullMQ hands
 * each job to one of them. Queue keys are under `<REDIS_PREFIX>:bull` so gateways (and test files)
 * sharing a Redis do not see each other's jobs.
 */
@Injectable()
export class JobsService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = loggerFor(JobsService);
  private readonly handlers = new Map<JobName, Handler<JobName>>();
  private readonly prefix: string;
  private readonly queueConnection: Redis;
  private readonly queue: Queue;
  private worker?: Worker;
  private workerConnection?: Redis;
  private readonly reconcilers: (() => Promise<void>)[] = [];
  private reconcileTimer?: NodeJS.Timeout;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.prefix = `${config.redis.prefix}:bull`;
    // Blocking worker commands need a connection that never gives up on a request.
    this.queueConnection = createRedis(config.redis, { maxRetriesPerRequest: null });
    this.queueConnection.on('error', (err: Error) => this.log.debug({ err: err.message }, 'job queue redis error'));
    this.queue = new Queue(ACCESS_TIMERS_QUEUE, { connection: this.queueConnection, prefix: this.prefix });
    this.queue.on('error', (err: Error) => this.log.warn({ err: err.message }, 'job queue error'));
  }

  /** Registered by the owning service at module init, before the worker starts. */
  handle<N extends JobName>(name: N, handler: Handler<N>): void {
    this.handlers.set(name, handler as Handler<JobName>);
  }

  /**
   * Registered by an owner whose jobs mirror database rows: puts back what Redis lost (a restart
   * without persistence) and runs what fell due meanwhile. Workers run every reconciler periodically
   * and as soon as Redis is back after an outage; the owner also calls it at its own start.
   */
  reconcileWith(reconcile: () => Promise<void>): void {
    this.reconcilers.push(reconcile);
  }

  private reconcileAll(): void {
    for (const reconcile of this.reconcilers) {
      reconcile().catch((err: unknown) => this.log.warn({ err }, 'job reconciliation failed; retried at the next interval'));
    }
  }

  /** Schedules `name` at `runAt` (now if past). Same row, same job id: scheduling again is a no-op. */
  async schedule<N extends JobName>(name: N, payload: JobPayloads[N], runAt: Date): Promise<void> {
    const jobId = jobIdFor(name, payload);
    await boundedRedis(this.queue.add(name, payload, {
      jobId,
      delay: Math.max(0, runAt.getTime() - Date.now()),
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: true,
      removeOnFail: 1000,
    }), `scheduling ${jobId}`);
  }

  /**
   * Runs `name` every `intervalMs` on one replica (BullMQ job scheduler: every replica may declare it,
   * there is one schedule).
   */
  async every<N extends JobName>(name: N, payload: JobPayloads[N], intervalMs: number): Promise<void> {
    await boundedRedis(this.queue.upsertJobScheduler(jobIdFor(name, payload), { every: intervalMs }, {
      name, data: payload, opts: { attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: 100 },
    }), `scheduling ${name}`);
  }

  /** Removes a scheduled job that is no longer needed (a revoked grant, a decided approval). */
  async cancel<N extends JobName>(name: N, payload: JobPayloads[N]): Promise<void> {
    await boundedRedis(this.queue.remove(jobIdFor(name, payload)), 'removing a job').catch((err: unknown) => this.log.debug({ err }, 'could not remove a job'));
  }

  onApplicationBootstrap(): void {
    if (!runsJobs(this.config)) return; // an api replica only schedules; the workers run the jobs
    this.workerConnection = createRedis(this.config.redis, { maxRetriesPerRequest: null });
    this.workerConnection.on('error', (err: Error) => this.log.debug({ err: err.message }, 'job worker redis error'));
    this.worker = new Worker(ACCESS_TIMERS_QUEUE, (job: Job) => this.run(job), {
      connection: this.workerConnection,
      prefix: this.prefix,
      concurrency: 8,
    });
    this.worker.on('failed', (job, err) => this.log.warn({ err, job: job?.name, id: job?.id }, 'job failed'));
    this.worker.on('error', (err: Error) => this.log.warn({ err: err.message }, 'job worker error'));
    this.reconcileTimer = setInterval(() => this.reconcileAll(), this.config.jobs.reconcileIntervalMs);
    this.reconcileTimer.unref();
    // Redis back after an outage (possibly restarted, its jobs gone): put them back at once.
    let lost = false;
    this.queueConnection.on('close', () => (lost = true));
    this.queueConnection.on('ready', () => {
      if (!lost) return;
      lost = false;
      this.reconcileAll();
    });
  }

  /**
   * A graceful BullMQ close waits for Redis, which never answers when it is down: then the worker is
   * closed at once (its jobs stay in Redis for the next run) and the connections dropped first.
   */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.reconcileTimer);
    const redisUp = this.workerConnection?.status === 'ready' && this.queueConnection.status === 'ready';
    if (!redisUp) {
      this.workerConnection?.disconnect();
      this.queueConnection.disconnect();
    }
    // Bounded as well: a Redis that goes away during the close would make BullMQ wait forever.
    await boundedRedis(this.worker?.close(!redisUp) ?? Promise.resolve(), 'closing the job worker').catch(() => undefined);
    await boundedRedis(this.queue.close(), 'closing the job queue').catch(() => undefined);
    this.workerConnection?.disconnect();
    this.queueConnection.disconnect();
  }

  private async run(job: Job): Promise<void> {
    const handler = this.handlers.get(job.name as JobName);
    if (!handler) throw new Error(`no handler for job ${job.name}`);
    await handler(job.data as JobPayloads[JobName]);
  }
}
