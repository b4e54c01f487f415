/**
 * The Node flags the control plane runs with wherever this repository starts it: `npm start`
 * (tools/start.mjs), the benches (bench/support/stack.mjs, bench/scale) and the container image, whose
 * NODE_OPTIONS e2e/deploy-manifests.test.ts checks against this list.
 *
 * --max-semi-space-size=32: V8's young generation gets 32 MiB per semi-space instead of Node 20's
 * 16 MiB. A replica allocates mostly short-lived objects (frames, buffers, parsed packets); with the
 * default, bench/scale's three replicas ran about 160 scavenges and 6 to 10 full collections in a
 * 30 s busy phase, and those pauses were the tail of session opens. With 32 MiB: about 80 scavenges,
 * 1 to 3 full collections, and the open p99 under load fell from 71-83 ms to 50-57 ms in alternating
 * runs (docs/scale-out.md). 64 MiB removed the full collections but made each scavenge longer.
 */
export const CONTROL_PLANE_NODE_FLAGS = ['--max-semi-space-size=32'];
