import { TokenVerifier, parseIssuersConfig, parseRoleMappings, DEFAULT_ROLE_MAPPINGS } from '@gw/identity';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';

export const tokenVerifierProvider = {
  provide: TokenVerifier,
  inject: [APP_CONFIG],
  useFactory: (config: AppConfig) =>
    TokenVerifier.fromConfig(
      parseIssuersConfig(config.identity.issuers),
      config.identity.roleMappings === undefined ? DEFAULT_ROLE_MAPPINGS : parseRoleMappings(config.identity.roleMappings),
    ),
};
