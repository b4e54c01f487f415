import { z } from 'zod';

/**
 * What the control plane tells the agent when it opens a stream. The grant is the proof of
 * authorization (a signed JWT, see grant.ts); everything else is routing or declared context.
 * Unknown keys are refused: a new field needs a protocol version bump, not a silent ignore.
 */
export const StreamOpenHeaderSchema = z.strictObject({
  grant: z.string().min(1).max(8192),
  resource: z.string().min(1).max(256),
  protocol: z.enum(['postgres', 'mysql', 'ssh', 'kubernetes', 'tcp', 'mcp']),
  /** Declared by the client, never trusted for decisions (kept for attribution only). */
  client: z
    .strictObject({
      address: z.string().max(128).optional(),
      port: z.number().int().min(0).max(65535).optional(),
      applicationName: z.string().max(256).optional(),
      clientVersion: z.string().max(256).optional(),
      userAgent: z.string().max(512).optional(),
    })
    .default({}),
});

export type StreamOpenHeader = z.output<typeof StreamOpenHeaderSchema>;
export type StreamOpenHeaderInput = z.input<typeof StreamOpenHeaderSchema>;
export type StreamProtocol = StreamOpenHeader['protocol'];
