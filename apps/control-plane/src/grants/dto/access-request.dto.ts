import { z } from 'zod';
import { limitText } from '../../common/query-fields.js';
import { parseDuration } from '@gw/policy';

const MIN_SECONDS = 60;
const MAX_SECONDS = 7 * 86_400;

/** `"30m"`, `"8h"` (a number and a unit s, m, h, d) or a number of seconds. */
const duration = z.union([
  z.number().int().min(MIN_SECONDS).max(MAX_SECONDS),
  z.string().transform((text, ctx) => {
    const parsed = parseDuration(text, { minSeconds: MIN_SECONDS, maxSeconds: MAX_SECONDS });
    if ('error' in parsed) {
      ctx.addIssue({ code: 'custom', message: parsed.error });
      return z.NEVER;
    }
    return parsed.seconds;
  }),
]);

export const accessRequestBodySchema = z.strictObject({
  resource: z.string().min(1).max(63),
  /** Database role (or login) wanted on the resource. */
  role: z.string().regex(/^[A-Za-z_][A-Za-z0-9_$.-]{0,62}$/, 'a role name: letters, digits, _ $ . -, at most 63, not starting with a digit'),
  duration,
  reason: z.string().trim().min(3).max(1000),
});
export type AccessRequestBody = z.infer<typeof accessRequestBodySchema>;

export const accessRequestQuerySchema = z.strictObject({
  status: z.enum(['pending', 'approved', 'denied', 'expired', 'cancelled']).optional(),
  limit: limitText(500, 100),
});
export type AccessRequestQuery = z.infer<typeof accessRequestQuerySchema>;

export const grantQuerySchema = z.strictObject({
  active: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  principal: z.string().min(1).max(512).optional(),
  resource: z.string().min(1).max(63).optional(),
  limit: limitText(500, 100),
});
export type GrantQuery = z.infer<typeof grantQuerySchema>;
