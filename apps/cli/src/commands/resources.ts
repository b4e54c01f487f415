import { apiGet } from '../api-client.js';
import { CliError } from '../errors.js';
import { cell } from '../format.js';
import { currentCredentials } from '../acquire/credentials.js';
import type { CliContext } from './context.js';

interface ResourceItem {
  name?: unknown;
  type?: unknown;
  online?: unknown;
  status?: unknown;
  labels?: unknown;
  access?: unknown;
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 2))).join('').trimEnd() + '\n').join('');
}

export function resourceRows(items: ResourceItem[]): string[][] {
  const withAccess = items.some((i) => i.access !== undefined);
  const header = ['NAME', 'TYPE', 'STATUS', 'LABELS', ...(withAccess ? ['ACCESS'] : [])];
  const rows = items.map((item) => {
    const status = typeof item.status === 'string' ? item.status : item.online === true ? 'online' : item.online === false ? 'offline' : '-';
    const labels =
      typeof item.labels === 'object' && item.labels !== null
        ? Object.entries(item.labels as Record<string, unknown>)
            .map(([k, v]) => `${k}=${cell(v, '')}`)
            .join(',')
        : '';
    return [cell(item.name, '?'), cell(item.type, '?'), status, labels || '-', ...(withAccess ? [cell(item.access)] : [])];
  });
  return [header, ...rows];
}

export async function resourcesCommand(ctx: CliContext, apiUrl: string, role?: string): Promise<void> {
  const path = role ? `/api/v1/resources?role=${encodeURIComponent(role)}` : '/api/v1/resources';
  const body = (await apiGet(apiUrl, path, await currentCredentials(ctx.env))) as { items?: unknown };
  if (!Array.isArray(body.items)) throw new CliError('unexpected answer from /api/v1/resources (no items)');
  if (body.items.length === 0) {
    ctx.out('no resources are declared yet (is an agent running?)\n');
    return;
  }
  ctx.out(formatTable(resourceRows(body.items as ResourceItem[])));
}
