import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { grantSigningKey, signSessionGrant, type SessionGrantClaims } from '@gw/tunnel';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';

/**
 * The ES256 key that signs session grants. Made at first start and kept (mode 0600) so agents
 * that cached the public key keep working across restarts.
 */
@Injectable()
export class GrantSigner implements OnModuleInit {
  private readonly log = loggerFor(GrantSigner);
  private privateJwk!: JWK;
  /** Imported once: importing the JWK on every signature cost about as much as the signature. */
  private signingKey!: KeyObject;
  private publicJwkValue!: JWK;
  private keyId!: string;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async onModuleInit(): Promise<void> {
    const file = join(this.config.dataDir, 'grant-signing-key.json');
    try {
      this.privateJwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      this.privateJwk = { ...(await exportJWK(privateKey)), alg: 'ES256', kid: `grant-${Date.now().toString(36)}` };
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, JSON.stringify(this.privateJwk), { mode: 0o600, flag: 'wx' }).catch(async (e: NodeJS.ErrnoException) => {
        // Another replica on the same data dir won the race: use its key.
        if (e.code !== 'EEXIST') throw e;
        this.privateJwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
      });
      this.log.info({ file }, 'created session grant signing key');
    }
    this.signingKey = grantSigningKey(this.privateJwk); // fails early on a corrupt key file
    const { d: _private, ...publicPart } = this.privateJwk;
    this.publicJwkValue = publicPart;
    this.keyId = this.privateJwk.kid ?? 'grant';
  }

  get publicJwk(): JWK {
    return this.publicJwkValue;
  }

  sign(claims: SessionGrantClaims): Promise<string> {
    return signSessionGrant(this.signingKey, claims, { keyId: this.keyId, issuer: 'gateway-control-plane' });
  }
}
