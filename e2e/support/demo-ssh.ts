import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { DEMO_POLICY, DEMO_SSH_LOGIN } from '@gw/policy';
import { gatewaySsh, type GatewaySsh } from './ssh-client.js';
import { startSshTarget, type SshTarget } from './ssh-fixture.js';
import { TEST_LOGIN } from './sshd.js';
import { startStack, type Stack } from './stack.js';

/** The resource name the demo-policy SSH target is registered under (`demo=true`, as the quick start's). */
export const DEMO_BOX = 'demo-box';

export interface DemoSsh {
  target: SshTarget;
  stack: Stack;
  /** The `ai-agent` workload's ssh client (a requester under the demo policy). */
  workload: GatewaySsh;
  close(): Promise<void>;
}

/**
 * The demo policy over a real sshd, its test login standing in for the demo login (the demo policy
 * lets workloads log in as that one only), and a workload's ssh client through the gateway.
 */
export async function startDemoSsh(): Promise<DemoSsh> {
  const target = await startSshTarget();
  const policy = DEMO_POLICY.replaceAll(`"${DEMO_SSH_LOGIN}"`, `"${TEST_LOGIN}"`);
  const stack = await startStack({ policy, resources: [target.resource(DEMO_BOX, { demo: 'true' })] });
  const workload = gatewaySsh(stack.sshPort, await stack.cp.token('ai-agent'));
  return {
    target, stack, workload,
    async close() {
      await stack.close();
      await target.sshd.remove();
    },
  };
}

/**
 * A directory holding one file, both owned by the test login: only policy stands between a workload
 * and changing them.
 */
export function loginOwnedFile(dir: string, file: string, content: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, content);
  const uid = Number(execFileSync('id', ['-u', TEST_LOGIN]).toString());
  chownSync(dir, uid, uid);
  chownSync(file, uid, uid);
}
