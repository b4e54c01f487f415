import { apiGet } from '../api-client.js';
import { cell } from '../format.js';
import { currentCredentials } from '../acquire/credentials.js';
import type { CliContext } from './context.js';

export async function whoamiCommand(ctx: CliContext, apiUrl: string): Promise<void> {
  const me = (await apiGet(apiUrl, '/api/v1/whoami', await currentCredentials(ctx.env))) as Record<string, unknown>;
  const line = (k: string, v: unknown): string => `${k.padEnd(14)}${cell(v)}\n`;
  ctx.out(
    line('id', me.id) +
      line('kind', me.kind) +
      line('display name', me.displayName) +
      line('issuer', me.issuer) +
      line('gateway roles', me.gatewayRoles) +
      line('roles', me.roles) +
      line('groups', me.groups) +
      (me.process ? line('process', Object.entries(me.process as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`).join(' ')) : ''),
  );
}
