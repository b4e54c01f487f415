// Sums the self time of a V8 .cpuprofile (node --cpu-prof) by function and by file, so that a bench
// run can say where the time goes without opening DevTools.
//   node bench/support/profile-summary.mjs .data/profiles/agent-*.cpuprofile [--top 30] [--callers writeBuffer]
// --callers NAME: where the self time of functions named NAME comes from (their callers, --depth levels up, 4 by default).
// --inclusive NAME[,NAME...]: total time spent in (and below) functions of those names.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
const callersIndex = args.indexOf('--callers');
const callersOf = callersIndex >= 0 ? args[callersIndex + 1] : undefined;
const depthIndex = args.indexOf('--depth');
const callerDepth = depthIndex >= 0 ? Number(args[depthIndex + 1]) : 4;
const inclusiveIndex = args.indexOf('--inclusive');
const inclusiveOf = inclusiveIndex >= 0 ? args[inclusiveIndex + 1].split(',') : [];
const valueIndexes = new Set([topIndex, callersIndex, depthIndex, inclusiveIndex].filter((i) => i >= 0).map((i) => i + 1));
const files = args.filter((a, i) => !a.startsWith('--') && !valueIndexes.has(i));
if (files.length === 0) {
  console.error('usage: node bench/support/profile-summary.mjs <file.cpuprofile>... [--top N]');
  process.exit(2);
}

/** Shortens a script URL to something readable: the package or the repository-relative path. */
function shortFile(url) {
  if (!url) return '(native)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    const pkg = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    return `${pkg}: ${rest.slice(rest[0].startsWith('@') ? 2 : 1).join('/')}`;
  }
  const repo = path.indexOf('/apps/') >= 0 ? path.indexOf('/apps/') : path.indexOf('/libs/');
  return repo >= 0 ? path.slice(repo + 1) : path;
}

function summarize(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  // timeDeltas[i] is the time between samples[i-1] and samples[i]: charge it to samples[i].
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map();
  const byFile = new Map();
  let idle = 0;
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id);
    const name = callFrame.functionName || '(anonymous)';
    if (name === '(idle)') idle += us;
    const where = shortFile(callFrame.url);
    const fnKey = `${name}  [${where}${callFrame.url ? `:${callFrame.lineNumber + 1}` : ''}]`;
    byFunction.set(fnKey, (byFunction.get(fnKey) ?? 0) + us);
    const fileKey = callFrame.url ? where.replace(/:.*$/, (m) => m) : name;
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us);
  }
  const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const ms = (us) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  console.log(`\n== ${file}\ntotal ${(total / 1e6).toFixed(1)} s, idle ${pct(idle)}, busy ${((total - idle) / 1e6).toFixed(1)} s`);
  console.log('-- self time by function');
  for (const [key, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)} ${ms(us)}  ${key}`);
  console.log('-- self time by file');
  for (const [key, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)} ${ms(us)}  ${key}`);
  for (const name of inclusiveOf) {
    // Subtree totals, not counting a node again below an ancestor of the same name (recursion).
    const subtree = (id, inside) => {
      const node = byId.get(id);
      const match = node.callFrame.functionName === name;
      let us = inside || match ? selfUs.get(id) ?? 0 : 0;
      for (const c of node.children ?? []) us += subtree(c, inside || match);
      return us;
    };
    const rootId = profile.nodes[0].id;
    const us = subtree(rootId, false);
    console.log(`-- inclusive ${name}: ${pct(us)} ${ms(us)}`);
  }
  if (callersOf) {
    const parent = new Map();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const chains = new Map();
    for (const [id, us] of selfUs) {
      if (byId.get(id).callFrame.functionName !== callersOf) continue;
      const chain = [];
      for (let p = parent.get(id); p !== undefined && chain.length < callerDepth; p = parent.get(p)) {
        const f = byId.get(p).callFrame;
        chain.push(`${f.functionName || '(anonymous)'}@${shortFile(f.url).split('/').pop()}`);
      }
      const key = chain.join(' < ');
      chains.set(key, (chains.get(key) ?? 0) + us);
    }
    console.log(`-- callers of ${callersOf}`);
    for (const [key, us] of [...chains].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)} ${ms(us)}  ${key}`);
  }
}

for (const file of files) summarize(file);
