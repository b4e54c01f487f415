import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

/**
 * An OIDC issuer (discovery + JWKS) whose only purpose is to sign tokens that expired long ago,
 * beyond the verifier's clock tolerance: the dev IdP only issues fresh tokens.
 */
export async function startStaleIssuer(): Promise<{ issuer: string; expiredToken(): Promise<string>; close(): Promise<void> }> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'stale-1', alg: 'ES256', use: 'sig' };
  let issuer = '';
  const server: Server = createServer((req, res) => {
    const body = req.url === '/.well-known/openid-configuration' ? { issuer, jwks_uri: `${issuer}/jwks` } : req.url === '/jwks' ? { keys: [jwk] } : undefined;
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    issuer,
    expiredToken: () => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ tid: '00000000-0000-4000-8000-000000000001', oid: '7b1c2d3e-4f50-4a61-8b72-9c8d7e6f5a41', azp: 'stale-client', roles: ['Gateway.Requester'], idtyp: 'app', ver: '2.0' })
        .setProtectedHeader({ alg: 'ES256', kid: 'stale-1', typ: 'at+jwt' })
        .setIssuer(issuer)
        .setAudience('api://gateway')
        .setSubject('7b1c2d3e-4f50-4a61-8b72-9c8d7e6f5a41')
        .setIssuedAt(now - 3600)
        .setExpirationTime(now - 1800)
        .setJti('expired-token-1')
        .sign(privateKey);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
