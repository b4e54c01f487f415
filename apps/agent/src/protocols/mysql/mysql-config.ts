import { z } from 'zod';

export const MYSQL_MODES = ['ephemeral', 'fixed'] as const;

/**
 * Per-resource options of a `mysql` resource (the `mysql:` block of a resource entry), without the
 * secret reference (`maskingKey`), which the agent config adds with its secret resolver.
 * - `mode`: `ephemeral` creates a user per session (random password, `MAX_USER_CONNECTIONS 1`,
 *   granted the role the client asked for and nothing else, dropped at the end; leftovers of this agent
 *   are swept when the resource is first used). The configured credentials must be allowed to create
 *   users and grant that role. `fixed` logs in with the configured credentials for every session
 *   (weaker: every session is the same database user; only policy stands between them), and the
 *   client must ask for that user.
 * - `ephemeralHost`: the host part of the ephemeral users (`'%'`: from anywhere; set the agent's own
 *   address to pin them to it).
 * - `sampleRows`: result rows (as the client saw them, masked) kept in the recording per statement.
 * - `privilegedRoles`: roles sessions may request although they hold global or administrative
 *   privileges (SUPER, ALL PRIVILEGES ON *.*, FILE, PROCESS, GRANT OPTION ...); any other such role is refused.
 */
export const mysqlOptionsShape = {
  mode: z.enum(MYSQL_MODES).default('ephemeral'),
  ephemeralHost: z.string().min(1).max(255).default('%'),
  sampleRows: z.number().int().min(0).max(1000).default(50),
  privilegedRoles: z.array(z.string().min(1).max(80)).max(200).default([]),
};

export const DEFAULT_MYSQL_OPTIONS = { mode: 'ephemeral', ephemeralHost: '%', sampleRows: 50, privilegedRoles: [] } as const;
export type MysqlOptions = { mode: (typeof MYSQL_MODES)[number]; ephemeralHost: string; sampleRows: number; privilegedRoles: readonly string[] };
