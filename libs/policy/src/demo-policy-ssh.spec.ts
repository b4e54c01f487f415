import { analyzeShellCommand } from '@gw/shell-command';
import { describe, expect, it } from 'vitest';
import { DEMO_POLICY, DEMO_SSH_LOGIN } from './demo-policy.js';
import { PolicyEngine } from './engine.js';
import type { PolicyInput } from './input.js';

const workload: PolicyInput['principal'] = { id: 'ai', kind: 'workload', issuer: 'i', subject: 's', roles: [], groups: [], gatewayRoles: ['requester'] };
const admin: PolicyInput['principal'] = { ...workload, id: 'admin', gatewayRoles: ['admin'] };
const demoHost: PolicyInput['resource'] = { name: 'ssh-demo', type: 'ssh', labels: { demo: 'true' } };

describe('demo policy: SSH lines', () => {
  const engine = PolicyEngine.compile(DEMO_POLICY);
  const decide = (action: PolicyInput['action'], context: PolicyInput['context'] = {}, resource = demoHost, principal = workload) =>
    engine.evaluate({ principal, action, resource, context: { login: DEMO_SSH_LOGIN, ...context } });
  /** As the agent decides an exec (without a terminal unless `pty`): the command analyzed, a shell decided as ssh:shell. */
  const decideCommand = async (command: string, principal = workload, pty = false) => {
    const a = await analyzeShellCommand(command);
    const { opaqueReasons: _reasons, ...fields } = a;
    return decide(a.shell ? 'ssh:shell' : 'ssh:exec', { command, ...fields, pty }, demoHost, principal);
  };

  it('refuses workloads a command on a terminal (ssh -t), whose output would come back unmasked; admins may', async () => {
    expect((await decideCommand('cat /etc/hostname')).effect).toBe('allow');
    const onTerminal = await decideCommand('cat /etc/hostname', workload, true);
    expect(onTerminal.effect).toBe('deny');
    expect(onTerminal.determiningPolicies).toContain('requester-ssh-no-terminal');
    expect((await decideCommand('sudo id', workload, true)).effect).toBe('deny');
    // Not said whether there is a terminal: refused (fail closed).
    const { opaqueReasons: _r, ...fields } = await analyzeShellCommand('uptime');
    expect(decide('ssh:exec', { command: 'uptime', ...fields }).effect).toBe('deny');
    expect((await decideCommand('cat /etc/hostname', admin, true)).effect).toBe('allow');
  });

  it('lets workloads connect and copy files on demo hosts only', () => {
    expect(decide('connect').effect).toBe('allow');
    expect(decide('connect', {}, { ...demoHost, labels: {} }).effect).toBe('deny');
    expect(decide('ssh:sftp').effect).toBe('allow');
    expect(decide('ssh:shell').effect).toBe('deny');
    expect(decide('ssh:forward', { host: '127.0.0.1', port: 5432 }).effect).toBe('deny');
    // An exec whose command was not analyzed is not permitted (fail closed).
    expect(decide('ssh:exec', { command: 'uptime' }).effect).toBe('deny');
  });

  it('masks workloads\' SSH recordings with the Postgres rules\' entity styles (connect and every exec permit); admins unmasked', async () => {
    const postgresRead = engine.evaluate({ principal: workload, action: 'sql:select', resource: { name: 'db', type: 'postgres', labels: {} }, context: {} }).obligations.masking;
    const styles = (m: { entities: readonly { entity: string; style: string }[] }) => Object.fromEntries(m.entities.map((e) => [e.entity, e.style]));
    expect(styles(postgresRead)).toEqual({ email: 'partial', card: 'full', ssn: 'full', phone: 'partial', iban: 'partial' });
    expect(styles(decide('connect').obligations.masking)).toEqual(styles(postgresRead));
    for (const command of ['cat /etc/hostname', 'sudo id', 'python3 /opt/report.py']) {
      expect(styles((await decideCommand(command)).obligations.masking), command).toEqual(styles(postgresRead));
    }
    expect(decide('connect', {}, demoHost, admin).obligations.masking.entities).toEqual([]);
  });

  it.each([
    'uptime', 'ls -la /tmp', 'cat /etc/hostname | grep x | wc -l', 'df -h; free -m', 'ps aux 2>/dev/null', 'id && whoami',
    'find /var/log -name "*.log"', 'echo "rm -rf /" ', "grep -r 'sudo' /etc/motd", 'scp -t /tmp/upload', 'scp -f /tmp/report.txt', 'scp -r -t /tmp/dir', 'env LANG=C ls',
  ])('allows the read-only command %j', async (command) => {
    expect((await decideCommand(command)).effect).toBe('allow');
  });

  it.each([
    // every spelling of a destructive program
    ['rm -rf /tmp/x', 'requester-ssh-no-destructive'], ['rm -r -f x', 'requester-ssh-no-destructive'], ['rm -fr x', 'requester-ssh-no-destructive'],
    ['rm --recursive --force x', 'requester-ssh-no-destructive'], ['r\\m -rf x', 'requester-ssh-no-destructive'], ["r''m -rf x", 'requester-ssh-no-destructive'],
    ['"r"m -rf x', 'requester-ssh-no-destructive'], ["r$'\\x6d' -rf x", 'requester-ssh-no-destructive'], ['\\rm -rf x', 'requester-ssh-no-destructive'],
    ['/bin/rm -rf x', 'requester-ssh-no-destructive'], ['command rm -rf x', 'requester-ssh-no-destructive'], ['builtin rm x', 'requester-ssh-no-destructive'],
    ['exec rm -rf x', 'requester-ssh-no-destructive'], ['nice -n 5 rm -rf x', 'requester-ssh-no-destructive'], ['nohup rm -rf x', 'requester-ssh-no-destructive'],
    ['timeout 5 rm -rf x', 'requester-ssh-no-destructive'], ['sudo -u nobody rm -rf x', 'requester-ssh-no-destructive'], ['env -i rm -rf x', 'requester-ssh-no-destructive'],
    ['ionice -c 3 rm -rf x', 'requester-ssh-no-destructive'], ['stdbuf -o0 rm -rf x', 'requester-ssh-no-destructive'], ['chroot / rm -rf x', 'requester-ssh-no-destructive'],
    ['busybox rm -rf x', 'requester-ssh-no-destructive'], ['f(){ rm -rf x; }; f', 'requester-ssh-no-destructive'], ['function f { rm -rf x; }; f', 'requester-ssh-no-destructive'],
    ['ls; rm -rf x', 'requester-ssh-no-destructive'], ['ls | rm -rf x', 'requester-ssh-no-destructive'], ['echo $(rm -rf x)', 'requester-ssh-no-destructive'],
    ['echo `rm -rf x`', 'requester-ssh-no-destructive'], ['cat <(rm -rf x)', 'requester-ssh-no-destructive'], ['sh -c "rm -rf x"', 'requester-ssh-no-destructive'],
    ["dash -c 'rm -rf x'", 'requester-ssh-no-destructive'], ["zsh -c 'rm -rf x'", 'requester-ssh-no-destructive'], ["ksh -c 'rm -rf x'", 'requester-ssh-no-destructive'],
    ['bash -c "rm -rf x"', 'requester-ssh-no-destructive'], ['shred -u f', 'requester-ssh-no-destructive'], ['dd if=/dev/zero of=f', 'requester-ssh-no-destructive'],
    ['truncate -s 0 f', 'requester-ssh-no-destructive'], ['mv x /dev/null', 'requester-ssh-no-destructive'], ['cp /dev/null f', 'requester-ssh-no-destructive'],
    ['sudo rm -rf /', 'requester-ssh-no-destructive'], ['mkfs.ext4 /dev/sdb', 'requester-ssh-no-destructive'], ['reboot', 'requester-ssh-no-destructive'],
    // destructive options of allowed programs, and file writes
    ['find /tmp/x -delete', 'requester-ssh-no-destructive-options'], ['find . -fprint f', 'requester-ssh-no-destructive-options'],
    ['echo x > f', 'requester-ssh-no-file-writes'], ['echo x >> f', 'requester-ssh-no-file-writes'], ['echo x >| f', 'requester-ssh-no-file-writes'],
    ['ls &> f', 'requester-ssh-no-file-writes'], ['cat /etc/hostname >&f', 'requester-ssh-no-file-writes'], ['echo x | tee f', 'requester-ssh-no-file-writes'],
    ['scp /etc/hostname elsewhere:/tmp/', 'requester-ssh-scp-server-only'], ['scp -r /var/log user@10.0.0.9:', 'requester-ssh-scp-server-only'],
    ['echo x > $HOME/f', 'requester-ssh-no-file-writes'], ['uniq in.txt out.txt', 'requester-ssh-no-file-writes'], ['sort -uo out.txt in.txt', 'requester-ssh-no-file-writes'],
    // allowed programs that run another: sort pipes its temporary files through --compress-program (here: the sorted lines run as shell code)
    ["printf 'touch /tmp/pwned\\n%.0s' $(seq 1 20000) | sort -S 64k --compress-program=sh", 'requester-ssh-no-opaque'], ['sort --compress-prog=sh f', 'requester-ssh-no-opaque'],
    // opaque: what runs is known only at run time
    ['$RM -rf x', 'requester-ssh-no-opaque'], ['"$(echo rm)" -rf x', 'requester-ssh-no-opaque'], ['bash -c "$(echo cm0gLXJmIHgK | base64 -d)"', 'requester-ssh-no-opaque'],
    ['eval "rm -rf x"', 'requester-ssh-no-opaque'], ['find . -exec rm {} \\;', 'requester-ssh-no-opaque'], ['ls | xargs rm', 'requester-ssh-no-opaque'],
    ['perl -e "unlink q(x)"', 'requester-ssh-no-opaque'], ['python3 -c "import shutil"', 'requester-ssh-no-opaque'], ['node -e "1"', 'requester-ssh-no-opaque'],
    ['ruby -e "1"', 'requester-ssh-no-opaque'], ['php -r "1;"', 'requester-ssh-no-opaque'], ["awk 'BEGIN{system(\"rm -rf x\")}'", 'requester-ssh-no-opaque'],
    ["sed -n '1e rm -rf x' f", 'requester-ssh-no-opaque'], ['echo "rm -rf x" | bash', 'requester-ssh-no-opaque'], ['bash <<< "rm -rf x"', 'requester-ssh-no-opaque'],
    ['python3 - <<EOF\nimport shutil\nEOF', 'requester-ssh-no-opaque'], ['r\\\nm -rf x', 'requester-ssh-no-opaque'], ['PATH=/tmp ls', 'requester-ssh-no-opaque'],
    ['echo "unterminated', 'requester-ssh-no-opaque'], ['ls; )', 'requester-ssh-no-opaque'], ["x='a[$(rm -rf y)]'; echo $((x))", 'requester-ssh-no-opaque'],
  ])('refuses %j (%s)', async (command, policy) => {
    const decision = await decideCommand(command);
    expect(decision.effect).toBe('deny');
    expect(decision.determiningPolicies).toContain(policy);
  });

  it.each(['bash', 'bash -i', 'sh', 'sh -s', 'dash', 'zsh -i', 'python3', 'python3 -', 'bash -s -- a b', 'sudo -s', 'sudo -i', 'su', 'env bash', 'perl', 'node'])(
    'decides %j as an interactive shell, which workloads do not get', async (command) => {
      const a = await analyzeShellCommand(command);
      expect(a.shell).toBe(true);
      expect((await decideCommand(command)).effect).toBe('deny');
    },
  );

  it.each(['sudo systemctl restart app', ' sudo id', '/usr/bin/sudo id', 'env sudo id', 'id; sudo id', 'nice sudo uptime', 'python3 /opt/report.py', 'bash deploy.sh'])(
    'holds %j for approval', async (command) => {
      expect((await decideCommand(command)).effect).toBe('require_approval');
    },
  );

  it('leaves administrators unrestricted', async () => {
    expect((await decideCommand('rm -rf /tmp/x', admin)).effect).toBe('allow');
    expect((await decideCommand('bash -i', admin)).effect).toBe('allow');
  });

  it.each([
    ['root'], ['postgres'], ['ubuntu'], ['admin'], ['gw'], ['gw-demo2'], ['GW-DEMO'], ['gw-demo '], [' gw-demo'],
    ['gw-demo\u0000'], ['gw-demo@ssh-demo'], [''], ['*'],
  ])('refuses to connect as any login but the demo login: %j', (login) => {
    expect(decide('connect', { login }).effect).toBe('deny');
  });

  it('refuses a connect that names no login at all', () => {
    const input = { principal: workload, action: 'connect' as const, resource: demoHost, context: {} };
    expect(engine.evaluate(input).effect).toBe('deny');
  });

  it('the demo login is the unprivileged gw-demo user', () => {
    expect(DEMO_SSH_LOGIN).toBe('gw-demo');
    expect(decide('connect', { login: 'gw-demo' }).effect).toBe('allow');
  });
});
