import { describe, expect, it } from 'vitest';
import { safeReturnPath } from './oidc.js';

describe('the page to return to after sign-in', () => {
  it('keeps paths of the console with their query', () => {
    expect(safeReturnPath('/approvals/1f6b1c8e-0000-4000-8000-000000000000?decide=approve')).toBe('/approvals/1f6b1c8e-0000-4000-8000-000000000000?decide=approve');
    expect(safeReturnPath('/sessions?status=active')).toBe('/sessions?status=active');
  });

  it('never sends the browser to another site or back into the callback', () => {
    for (const bad of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', '', null, undefined, '/callback?code=x']) {
      expect(safeReturnPath(bad)).toBe('/');
    }
  });
});
