import type { ChildProcess } from 'node:child_process';

export const DEMO_REDIS_DEFAULT_PORT: string;
export function prepareDemoRedis(env: Record<string, string | undefined>, dir?: string): { port: string; spawn: () => ChildProcess };
