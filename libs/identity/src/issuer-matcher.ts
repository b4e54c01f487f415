import { GUID_PATTERN, TENANT_PLACEHOLDER, type IssuerConfig } from './issuer-config.js';

export interface IssuerMatch {
  config: IssuerConfig;
  /** The issuer exactly as the token states it (the template filled in). */
  concreteIssuer: string;
  /** Tenant taken from the issuer URL, for templates only (lower case). */
  issuerTenant?: string;
}

const GUID_SOURCE = GUID_PATTERN.source.replace(/^\^/, '').replace(/\$$/, '');

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Finds the trusted issuer entry for a token's `iss`: exact string match, or a template whose tenant slot holds a GUID. */
export class IssuerMatcher {
  private readonly exact = new Map<string, IssuerConfig>();
  private readonly templates: { pattern: RegExp; config: IssuerConfig }[] = [];

  constructor(configs: readonly IssuerConfig[]) {
    for (const config of configs) {
      const parts = config.issuer.split(TENANT_PLACEHOLDER);
      if (parts.length === 1) {
        this.exact.set(config.issuer, config);
      } else {
        const [prefix = '', suffix = ''] = parts;
        this.templates.push({ pattern: new RegExp(`^${escapeRegExp(prefix)}(${GUID_SOURCE})${escapeRegExp(suffix)}$`, 'i'), config });
      }
    }
  }

  match(iss: string): IssuerMatch | undefined {
    const exact = this.exact.get(iss);
    if (exact) return { config: exact, concreteIssuer: iss };
    for (const { pattern, config } of this.templates) {
      const tenant = pattern.exec(iss)?.[1];
      if (tenant !== undefined) return { config, concreteIssuer: iss, issuerTenant: tenant.toLowerCase() };
    }
    return undefined;
  }
}
