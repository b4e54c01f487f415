// Loaded into the control plane and the agent by bench/pg/hops.mjs (node --import): installs the
// data path's hop-trace sink (libs/tunnel/src/hop-trace.ts) and samples the event loop's delay.
// Marks go to $BENCH_HOP_DIR/<name>-<pid>.hops as "point streamId ns" lines, written every 250 ms;
// event-loop delay as "eld ns p50 p99 max mean" lines (µs, per 250 ms window).
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

// The tunnel library as the traced program resolves it (another checkout's build, for an A/B run).
const tunnelUrl = pathToFileURL(createRequire(process.argv[1]).resolve('@gw/tunnel')).href;
const { installHopTrace } = await import(tunnelUrl);

const dir = process.env.BENCH_HOP_DIR;
if (dir) {
  const file = join(dir, `${process.argv[1]?.includes('agent') ? 'agent' : 'cp'}-${process.pid}.hops`);
  let lines = [];
  installHopTrace((point, streamId, ns) => lines.push(`${point} ${streamId} ${ns}`));
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  const flush = () => {
    const us = (v) => (v / 1000).toFixed(0);
    if (eld.count > 0) lines.push(`eld ${process.hrtime.bigint()} ${us(eld.percentile(50))} ${us(eld.percentile(99))} ${us(eld.max)} ${us(eld.mean)}`);
    eld.reset();
    if (lines.length === 0) return;
    appendFileSync(file, `${lines.join('\n')}\n`);
    lines = [];
  };
  setInterval(flush, 250).unref();
  process.on('exit', flush);
}
