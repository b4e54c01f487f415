import { timingSafeEqual } from 'node:crypto';
import { DEV_TENANT_ID } from './clients.js';

/**
 * The demo PEOPLE of the quick start, who sign in to the web console through the dev IdP's login page
 * (the demo clients are workloads). Passwords follow `<user>-password` on purpose: this IdP is a local
 * stand-in for Entra and must never hold a real identity.
 */
export interface DemoUser {
  username: string;
  /** Stable object id, as Entra gives each user. */
  oid: string;
  name: string;
  email: string;
  roles: string[];
}

export const DEMO_USERS: readonly DemoUser[] = [
  { username: 'alice', oid: 'a11ce000-0000-4000-8000-00000000a001', name: 'Alice Admin', email: 'alice@dev.example', roles: ['Gateway.Admin'] },
  { username: 'bob', oid: 'b0b00000-0000-4000-8000-00000000b002', name: 'Bob Approver', email: 'bob@dev.example', roles: ['Gateway.Approver'] },
  { username: 'carol', oid: 'ca401000-0000-4000-8000-00000000c003', name: 'Carol Approver', email: 'carol@dev.example', roles: ['Gateway.Approver'] },
  { username: 'dave', oid: 'da7e0000-0000-4000-8000-00000000d004', name: 'Dave Auditor', email: 'dave@dev.example', roles: ['Gateway.Auditor'] },
  { username: 'erin', oid: 'e4140000-0000-4000-8000-00000000e005', name: 'Erin Requester', email: 'erin@dev.example', roles: ['Gateway.Requester'] },
];

/** The console's public client (authorization code + PKCE, no secret). */
export const CONSOLE_CLIENT_ID = 'gateway-console';

export function demoUserPassword(username: string): string {
  return `${username}-password`;
}

export function findDemoUser(username: string): DemoUser | undefined {
  return DEMO_USERS.find((user) => user.username === username);
}

/** The user whose password this is, or undefined; compares in constant time. */
export function checkDemoLogin(username: string, password: string): DemoUser | undefined {
  const user = findDemoUser(username);
  if (!user) return undefined;
  const expected = Buffer.from(demoUserPassword(user.username));
  const given = Buffer.from(password);
  return expected.length === given.length && timingSafeEqual(expected, given) ? user : undefined;
}

/** Entra-like claims of a delegated (user) access token, v2 shape: `scp`, `idtyp: user`, `azp` = the console. */
export function userTokenClaims(user: DemoUser, clientId: string): Record<string, unknown> {
  return {
    tid: DEV_TENANT_ID,
    oid: user.oid,
    azp: clientId,
    roles: user.roles,
    groups: [],
    idtyp: 'user',
    scp: 'console',
    ver: '2.0',
    name: user.name,
    preferred_username: user.email,
  };
}
