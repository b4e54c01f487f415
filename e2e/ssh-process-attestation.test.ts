import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { githubClaims } from '@gw/dev-idp';
import { gatewaySsh } from './support/ssh-client.js';
import { startSshTarget, type SshTarget } from './support/ssh-fixture.js';
import { TEST_LOGIN } from './support/sshd.js';
import { startStack, type Stack } from './support/stack.js';

const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("ssh-connect") permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") };
@id("ssh-exec") permit (principal, action == Gateway::Action::"ssh:exec", resource)
  when { principal.gatewayRoles.contains("requester") && principal has process && principal.process has repository && principal.process.repository == "acme/deploy" };
`;
const GW = resolve(import.meta.dirname, '../apps/cli/dist/main.js');

/**
 * SSH with a process attestation: real OpenSSH, the credential `<token>~<attestation>` answered by
 * `gw ssh-askpass` 1023 characters per keyboard-interactive prompt (it is longer than OpenSSH's buffer).
 */
describe('ssh: process attestation beside an Entra token', () => {
  let target: SshTarget;
  let stack: Stack;
  let entra: string;
  let askpass: string;

  beforeAll(async () => {
    target = await startSshTarget();
    stack = await startStack({
      policy: POLICY,
      resources: [target.resource('attested-box')],
      issuersFor: (iss) => [{ issuer: `${iss}/github-actions`, audience: 'api://gateway', kind: 'github-actions', attestationFor: [{ when: 'principal.appId == "ci-pipeline" && repository == "acme/deploy"' }] }],
    });
    entra = await stack.cp.token('ci-pipeline');
    const dir = mkdtempSync(join(tmpdir(), 'gw-askpass-'));
    askpass = join(dir, 'askpass.sh');
    writeFileSync(askpass, `#!/bin/sh\nexec "${process.execPath}" "${GW}" ssh-askpass "$1"\n`);
    chmodSync(askpass, 0o700);
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await target?.sshd.remove();
  });

  async function sshWith(attestation: string, command: string) {
    const client = gatewaySsh(stack.sshPort, entra);
    const configDir = mkdtempSync(join(tmpdir(), 'gw-askpass-cfg-'));
    const env = { SSH_ASKPASS: askpass, GW_TOKEN: entra, GW_ATTESTATION: attestation, GW_CONFIG_DIR: configDir };
    Object.assign(client.env, env);
    return client.run('ssh', [...client.options.map((o) => (o === 'PreferredAuthentications=password,keyboard-interactive' ? 'PreferredAuthentications=keyboard-interactive' : o)), '-p', String(stack.sshPort), '-l', `${TEST_LOGIN}@attested-box`, '127.0.0.1', command]);
  }

  it('the attested run is the session’s process, and policy reads it', async () => {
    const runId = `${Date.now()}`;
    const attestation = await stack.cp.idp.workloads.issuer('github-actions').mint(githubClaims({ repository: 'acme/deploy', ref: 'refs/heads/main', runId }), 'api://gateway');
    expect(`${entra}~${attestation}`.length).toBeGreaterThan(1023);
    const result = await sshWith(attestation, 'echo attested');
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('attested\n');
    const sessions = await stack.cp.request('GET', `/api/v1/sessions?process.run_id=${runId}`, { token: stack.admin });
    expect(sessions.body.items).toHaveLength(1);
    expect(sessions.body.items[0].principal.process).toMatchObject({ source: 'attestation', repository: 'acme/deploy', run_id: runId });
  });

  it('an attestation of another repository’s run refuses the login', async () => {
    const attestation = await stack.cp.idp.workloads.issuer('github-actions').mint(githubClaims({ repository: 'acme/other', ref: 'refs/heads/main', runId: '1' }), 'api://gateway');
    const result = await sshWith(attestation, 'echo never');
    expect(result.stdout).toBe('');
    expect(result.code).toBe(255);
    expect(result.stderr).toMatch(/Permission denied/);
  });
});
