import { z } from 'zod';

/**
 * The `mcp:` block of a `type: mcp` resource: the MCP server the agent serves, either a program it
 * runs (`command`, stdio) or a Streamable HTTP `url` inside the segment. `env` and `headers` values
 * are secret references (`env:NAME`, `file:/path`, `literal:...`): the server's credentials stay in
 * the agent; the client's token never reaches the server.
 * Limits per session: calls (`maxCallsPerSession`, `maxCallsPerMinute`), result size (text cut with
 * a note past `maxResultBytes`) and time per call (`callTimeoutSeconds`).
 * `acceptNewTools`: tools never seen before for this resource are accepted at once (a tool whose
 * definition changed is withheld until an admin accepts it, whatever this says).
 */
export function mcpOptionsSchema<S extends z.ZodType>(secretRef: S) {
  return z
    .strictObject({
      command: z.string().min(1).max(1024).optional(),
      args: z.array(z.string().max(4096)).max(100).default([]),
      cwd: z.string().min(1).max(1024).optional(),
      env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'environment names: letters, digits, _'), secretRef).default({}),
      url: z.string().url().max(2048).refine((u) => /^https?:$/.test(new URL(u).protocol), 'expected an http(s) URL').optional(),
      headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'header names: letters, digits, -'), secretRef).default({}),
      maxCallsPerSession: z.number().int().min(1).max(1_000_000).default(1000),
      maxCallsPerMinute: z.number().int().min(1).max(100_000).default(120),
      maxResultBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(256 * 1024),
      callTimeoutSeconds: z.number().int().min(1).max(3600).default(60),
      acceptNewTools: z.boolean().default(false),
    })
    .refine((o) => (o.command === undefined) !== (o.url === undefined), { message: 'an mcp block needs exactly one of command (stdio) or url (Streamable HTTP)' });
}
