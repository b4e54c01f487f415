import { createContext, useContext } from 'react';
import type { Api } from '../api/http.js';
import type { ConsoleConfig } from '../auth/oidc.js';

export type GatewayRole = 'admin' | 'approver' | 'auditor' | 'requester' | 'agent';

export interface Me {
  id: string;
  displayName?: string;
  kind: string;
  gatewayRoles: GatewayRole[];
}

export interface ConsoleContext {
  config: ConsoleConfig;
  api: Api;
  me: Me;
  token: () => string;
}

export const Ctx = createContext<ConsoleContext | null>(null);

export function useConsole(): ConsoleContext {
  const ctx = useContext(Ctx);
  if (!ctx) throw new Error('outside the signed-in console');
  return ctx;
}

export const hasRole = (me: Me, ...roles: GatewayRole[]) => me.gatewayRoles.some((r) => roles.includes(r));
