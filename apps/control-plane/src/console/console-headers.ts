import type { ConsoleOidc } from '../config/app-config.js';

/**
 * The console's Content-Security-Policy: scripts only from this origin (no inline script, no eval;
 * `wasm-unsafe-eval` lets the replay player compile its terminal emulator), network only to this
 * origin and the IdP (token endpoint), never framed. Inline styles are allowed: the replay player
 * sizes its terminal with style attributes, and styles cannot run code.
 */
export function consoleCsp(oidc: ConsoleOidc | undefined): string {
  const idp = oidc ? ` ${new URL(oidc.issuer).origin}` : '';
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    `connect-src 'self'${idp}`,
    "object-src 'none'",
    "base-uri 'none'",
    `form-action 'self'${idp}`,
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Headers of every console response (the page, its assets and its config). */
export function consoleSecurityHeaders(oidc: ConsoleOidc | undefined): Record<string, string> {
  return {
    'content-security-policy': consoleCsp(oidc),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  };
}
