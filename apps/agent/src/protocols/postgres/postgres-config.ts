import { z } from 'zod';
import { DEFAULT_UPSTREAM_TLS, upstreamTlsShape } from './upstream-tls.js';

export const POSTGRES_MODES = ['ephemeral', 'fixed'] as const;

/**
 * Per-resource options of a `postgres` resource (the `postgres:` block of a resource entry), without
 * the secret reference (`maskingKey`), which the agent config adds with its secret resolver.
 * - `database`: the real database name upstream (the client's "database" names the gateway resource).
 * - `mode`: `ephemeral` creates a LOGIN role per session, granted the requested role, valid until the
 *   session grant expires, dropped at the end. `fixed` logs in with the configured credentials for every
 *   session (weaker: every session runs as the same upstream user; only policy stands between them).
 * - `sampleRows`: result rows (as the client saw them, masked) kept in the recording per statement.
 * - `tls`: TLS from the agent to the database (libpq's sslmode names; see upstream-tls.ts).
 * - `privilegedRoles`: roles sessions may request although they are, or can become through
 *   membership, privileged (predefined pg_* roles, CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS);
 *   everything else of that kind is refused at connect. A superuser is refused even when listed.
 */
export const postgresOptionsShape = {
  database: z.string().min(1).max(63).default('postgres'),
  mode: z.enum(POSTGRES_MODES).default('ephemeral'),
  sampleRows: z.number().int().min(0).max(1000).default(50),
  tls: upstreamTlsShape.default(DEFAULT_UPSTREAM_TLS),
  privilegedRoles: z.array(z.string().min(1).max(63)).max(200).default([]),
};

export const DEFAULT_POSTGRES_OPTIONS = { database: 'postgres', mode: 'ephemeral', sampleRows: 50, tls: DEFAULT_UPSTREAM_TLS, privilegedRoles: [] } as const;
