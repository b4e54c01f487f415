import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TokenVerifier } from '@gw/identity';
import { AuditModule } from '../audit/audit.module.js';
import { AuthGuard } from './auth.guard.js';
import { tokenVerifierProvider } from './token-verifier.provider.js';
import { WhoamiController } from './whoami.controller.js';
import { TokenAuthenticator } from './token-authenticator.js';

@Module({
  imports: [AuditModule],
  providers: [tokenVerifierProvider, TokenAuthenticator, { provide: APP_GUARD, useClass: AuthGuard }],
  controllers: [WhoamiController],
  exports: [TokenVerifier, TokenAuthenticator],
})
export class IdentityModule {}
