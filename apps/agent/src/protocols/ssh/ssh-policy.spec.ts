import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { PolicyHolder } from '../../policy/policy-holder.js';
import { decideSsh, heldRefusal, MAX_COMMAND_LENGTH, refusalMessage, type SshPolicyContext } from './ssh-policy.js';

const POLICY = `
@id("exec") permit (principal, action == Gateway::Action::"ssh:exec", resource) when { context has login && context.login == "deploy" };
@id("no-rm") @reason("no deleting") forbid (principal, action == Gateway::Action::"ssh:exec", resource) when { context has command && context.command like "*rm -rf*" };
@id("sudo") @approval("required") permit (principal, action == Gateway::Action::"ssh:exec", resource) when { context has command && context.command like "sudo *" };
@id("shell") permit (principal, action == Gateway::Action::"ssh:shell", resource) when { context has command && context.command == "bash -l" };
@id("no-rm-program") @reason("no rm") forbid (principal, action == Gateway::Action::"ssh:exec", resource) when { context has flags && context.flags.contains("rm:-r") };
@id("fwd") permit (principal, action == Gateway::Action::"ssh:forward", resource) when { context has host && context.host == "10.0.0.5" && context has port && context.port == 5432 };
`;
const holder = (text: string | null) => new PolicyHolder(() => (text === null ? null : { version: 1, sha256: String(text.length), text }), pino({ level: 'silent' }));
const ctx: SshPolicyContext = {
  principal: { id: 'p', kind: 'workload', issuer: 'i', subject: 's', roles: [], groups: [], gatewayRoles: ['requester'] },
  resource: { name: 'box', type: 'ssh', labels: {} },
  login: 'deploy',
  sourceIp: '127.0.0.1',
};

describe('decideSsh', () => {
  const policy = holder(POLICY);

  it('decides exec on the command text and the login', async () => {
    expect(await decideSsh(policy, ctx, { action: 'ssh:exec', command: 'uptime' })).toMatchObject({ effect: 'allow', policies: ['exec'] });
    expect(await decideSsh(policy, ctx, { action: 'ssh:exec', command: 'cd / && rm -rf tmp' })).toMatchObject({ effect: 'deny', policies: ['no-rm', 'no-rm-program'], reasons: ['no deleting', 'no rm'] });
    expect((await decideSsh(policy, { ...ctx, login: 'root' }, { action: 'ssh:exec', command: 'uptime' })).effect).toBe('deny');
    expect((await decideSsh(policy, ctx, { action: 'ssh:exec', command: 'sudo reboot' })).effect).toBe('require_approval');
  });

  it('decides forwards on host and port', async () => {
    expect((await decideSsh(policy, ctx, { action: 'ssh:forward', host: '10.0.0.5', port: 5432 })).effect).toBe('allow');
    expect((await decideSsh(policy, ctx, { action: 'ssh:forward', host: '10.0.0.5', port: 22 })).effect).toBe('deny');
  });

  it('fails closed: no policy yet, a shell nobody permitted, an over-long command', async () => {
    expect(await decideSsh(holder(null), ctx, { action: 'ssh:exec', command: 'uptime' })).toMatchObject({ effect: 'deny', reasons: ['no policy received from the control plane yet; denied'] });
    expect((await decideSsh(policy, ctx, { action: 'ssh:shell' })).effect).toBe('deny');
    expect((await decideSsh(policy, ctx, { action: 'ssh:exec', command: `echo ${'x'.repeat(MAX_COMMAND_LENGTH)}` })).effect).toBe('deny');
  });

  it('tells the client which policy refused, and how a held command ended', async () => {
    expect(refusalMessage(await decideSsh(policy, ctx, { action: 'ssh:exec', command: 'rm -rf /' }), 'command')).toBe('gateway: command denied by policy "no-rm": no deleting');
    const held = await decideSsh(policy, ctx, { action: 'ssh:exec', command: 'sudo reboot' });
    expect(held.effect).toBe('require_approval');
    const id = '6f1c2a8e-0000-4000-8000-000000000001';
    expect(heldRefusal(held, 'command', { status: 'denied', approvalId: id, by: 'Ann', comment: 'not now' })).toBe(`gateway: command was denied by Ann (approval ${id}, policy "exec", "sudo"): not now`);
    expect(heldRefusal(held, 'command', { status: 'expired', approvalId: id, by: null, comment: null })).toMatch(/not approved in time .* expired/);
    expect(heldRefusal(held, 'command', { status: 'unavailable', reason: 'no control plane' })).toMatch(/needs approval \(policy "exec", "sudo"\), which cannot be asked for now: no control plane/);
  });

  it('decides an exec of a shell reading the session input as ssh:shell, with the command in the context', async () => {
    for (const command of ['bash', 'bash -i', 'sh -s', 'python3', 'python3 -', 'sudo -s', 'env bash']) {
      const verdict = await decideSsh(policy, ctx, { action: 'ssh:exec', command });
      expect(verdict, command).toMatchObject({ effect: 'deny', decidedAs: 'ssh:shell' });
    }
    expect(await decideSsh(policy, ctx, { action: 'ssh:exec', command: 'bash -l' })).toMatchObject({ effect: 'allow', decidedAs: 'ssh:shell', policies: ['shell'] });
  });

  it('denies rm -r written after a redirection, through a wrapper or behind a lone dash', async () => {
    for (const command of ['rm 2>/dev/null -r -f /', 'sudo >/dev/null rm -r -f /', 'env - rm -r -f /', 'sudo A=1 rm -r -f /', "sg wheel -c 'rm -r -f /'", 'pkexec rm -r -f /']) {
      const verdict = await decideSsh(policy, ctx, { action: 'ssh:exec', command });
      expect(verdict, command).toMatchObject({ effect: 'deny', policies: ['no-rm-program'] });
      expect(verdict.analysis?.programs, command).toContain('rm');
    }
  });

  it('gives policy an opaque analysis for a here-document bash ends earlier than the grammar', async () => {
    const verdict = await decideSsh(policy, ctx, { action: 'ssh:exec', command: "cat <<$'EOF'\nx\nEOF\nrm -r -f /\n$'EOF'" });
    expect(verdict.analysis).toMatchObject({ opaque: true, opaqueReasons: ['a here-document delimiter that cannot be read with certainty'] });
  });

  it('gives policy what the command runs, whatever its spelling', async () => {
    for (const command of ['rm -r -f x', 'rm -fr x', 'rm --recursive x', "r''m -rf x", 'sh -c "rm -rf x"', 'ls; /bin/rm -rf x']) {
      const verdict = await decideSsh(policy, ctx, { action: 'ssh:exec', command });
      expect(verdict, command).toMatchObject({ effect: 'deny', decidedAs: 'ssh:exec' });
      expect(verdict.analysis?.programs, command).toContain('rm');
    }
  });
});
