import type { ChildProcess } from 'node:child_process';

export function prepareSshDemo(env: Record<string, string | undefined>): { port: string; login: string; notes: string[]; spawn: () => ChildProcess } | undefined;
