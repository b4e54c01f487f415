import { z } from 'zod';

/**
 * Pinned tool definitions of MCP servers behind an agent. The agent hashes each tool it sees
 * (name, description, input schema) and asks the control plane which of them an admin accepted;
 * a tool whose definition is new or changed is withheld from the client until an admin accepts it.
 */
export const MCP_TOOL_PIN_EVENTS = {
  /** agent -> CP, with ack: these are the tools the server offers now; which may be shown? */
  check: 'mcp:tool-pins',
} as const;

export const MAX_PINNED_TOOLS = 1000;

export const toolPinCheckSchema = z.strictObject({
  /** The live session in which the agent saw the list (it must be this agent's, for this resource). */
  sessionId: z.uuid(),
  resource: z.string().min(1).max(63),
  /** The resource's config accepts tools never seen before (a changed definition is withheld regardless). */
  acceptNew: z.boolean(),
  tools: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(256),
        /** sha256 hex of the canonical JSON of { name, description, inputSchema } and, where the tool has them, annotations, title, outputSchema. */
        hash: z.string().regex(/^[0-9a-f]{64}$/),
        description: z.string().max(16 * 1024).optional(),
        inputSchema: z.unknown().optional(),
        annotations: z.unknown().optional(),
        title: z.unknown().optional(),
        outputSchema: z.unknown().optional(),
      }),
    )
    .max(MAX_PINNED_TOOLS),
});
export type ToolPinCheck = z.output<typeof toolPinCheckSchema>;

/** `accepted`: names of the tools whose current definition is accepted; every other one is withheld. */
export type ToolPinCheckAck = { ok: true; accepted: string[] } | { ok: false; error: string };
