import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TokenVerifier } from '@gw/identity';
import { AuditModule } from '../audit/audit.module.js';
import { AuthGuard } from './auth.guard.js';
import { tokenVerifierProvider } from './token-verifier.provider.js';
import { WhoamiController } from './whoami.controller.js';

@Module({
  imports: [AuditModule],
  providers: [tokenVerifierProvider, { provide: APP_GUARD, useClass: AuthGuard }],
  controllers: [WhoamiController],
  exports: [TokenVerifier],
})
export class IdentityModule {}
