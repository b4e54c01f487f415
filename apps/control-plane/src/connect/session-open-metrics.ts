import { Histogram } from 'prom-client';
import { metricsRegistry } from '../health/metrics.js';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** A session open inside this replica, from the broker's start to the tunnel stream accepted (or the refusal). */
export const sessionOpenDuration = new Histogram({
  name: 'gw_session_open_duration_seconds',
  help: 'Session opens in this replica by protocol and outcome (opened, refused, failed)',
  labelNames: ['protocol', 'outcome'] as const,
  buckets: BUCKETS,
  registers: [metricsRegistry],
});

/**
 * The waits of an open: `session_row`, `audit` and `grant` run together, then `agent` (the agent
 * accepts the stream). bench/scale reads these to say where opens under load wait.
 */
export const sessionOpenStepDuration = new Histogram({
  name: 'gw_session_open_step_duration_seconds',
  help: 'Waits of a session open by step (session_row, audit, grant, agent)',
  labelNames: ['step'] as const,
  buckets: BUCKETS,
  registers: [metricsRegistry],
});

export type OpenStep = 'session_row' | 'audit' | 'grant' | 'agent';

/** Resolves or rejects as `work` does, recording how long it took under `step`. */
export function timedStep<T>(step: OpenStep, work: Promise<T>): Promise<T> {
  const end = sessionOpenStepDuration.startTimer({ step });
  return work.finally(() => end());
}
