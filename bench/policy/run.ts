/**
 * Policy engine micro-benchmark: decisions per second on one core, cold (no cache, Cedar evaluates
 * every request) and cached (repeated inputs answered from the engine's LRU).
 *
 *   npx tsx bench/policy/run.ts
 */
import type { Principal } from '@gw/identity';
import { PolicyEngine, type GatewayAction, type PolicyInput } from '../../libs/policy/src/index.js';
import { BENCH_POLICY, BENCH_TEAMS } from './policies.js';

const ACTIONS: GatewayAction[] = ['connect', 'sql:select', 'sql:insert', 'sql:update', 'sql:session', 'sql:ddl', 'k8s:get', 'ssh:exec'];

function makeInputs(count: number): PolicyInput[] {
  const inputs: PolicyInput[] = [];
  for (let i = 0; i < count; i++) {
    const team = BENCH_TEAMS[i % BENCH_TEAMS.length] ?? 'data';
    const action = ACTIONS[i % ACTIONS.length] ?? 'connect';
    const principal: Principal = {
      id: `https://login.example/t-home/v2.0#agent-${i}`,
      kind: 'workload',
      issuer: 'https://login.example/t-home/v2.0',
      tenantId: 't-home',
      subject: `agent-${i}`,
      appId: `app-${i % 17}`,
      roles: ['Agent.Run'],
      groups: [`grp-${team}`, 'grp-all-staff', `grp-${i % 23}`],
      gatewayRoles: i % 11 === 0 ? ['admin'] : ['requester'],
    };
    const isSql = action.startsWith('sql:');
    inputs.push({
      principal,
      action,
      resource: {
        name: `${team}-db-${i % 7}`,
        type: action.startsWith('k8s:') ? 'kubernetes' : action.startsWith('ssh:') ? 'ssh' : 'postgres',
        environment: i % 2 === 0 ? 'prod' : 'dev',
        labels: { env: i % 2 === 0 ? 'prod' : 'dev', team },
      },
      context: {
        sourceIp: `10.0.${i % 256}.${(i >> 8) % 256}`,
        hasGrant: i % 3 === 0,
        hour: i % 24,
        ...(isSql
          ? { statementKind: action, tables: ['public.orders', 'public.customers'], tablesWritten: [], functions: ['now'], readOnly: action === 'sql:select', dbRole: 'app' }
          : {}),
        ...(action === 'k8s:get' ? { namespace: team, kind: i % 5 === 0 ? 'Secret' : 'Pod', name: `pod-${i}` } : {}),
        ...(action === 'ssh:exec' ? { command: 'uptime' } : {}),
      },
    });
  }
  return inputs;
}

function measure(label: string, engine: PolicyEngine, inputs: readonly PolicyInput[], minMillis: number): void {
  let decisions = 0;
  const effects = { allow: 0, deny: 0, require_approval: 0 };
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMillis) {
    for (const input of inputs) effects[engine.evaluate(input).effect]++;
    decisions += inputs.length;
    elapsed = performance.now() - start;
  }
  const perSecond = Math.round(decisions / (elapsed / 1000));
  const mix = `allow ${effects.allow}, deny ${effects.deny}, approval ${effects.require_approval}`;
  console.log(`${label.padEnd(46)} ${perSecond.toLocaleString('en-US').padStart(10)} decisions/s  (${decisions} decisions; ${mix})`);
}

const engine = PolicyEngine.compile(BENCH_POLICY, { cacheSize: 0 });
console.log(`policy set: ${engine.policies.length} policies, version ${engine.version}, node ${process.version}`);

const distinct = makeInputs(20_000);
measure('cold (cache disabled, 20k distinct inputs)', engine, distinct, 3000);

const cachedEngine = PolicyEngine.compile(BENCH_POLICY);
const hot = makeInputs(1000);
for (const input of hot) cachedEngine.evaluate(input); // warm
measure('cached (1,000 inputs repeating, LRU 10k)', cachedEngine, hot, 3000);
const stats = cachedEngine.cacheStats();
console.log(`cache: size ${stats.size}, hits ${stats.hits}, misses ${stats.misses}`);
