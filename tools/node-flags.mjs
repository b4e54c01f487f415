/**
 * The Node flags the control plane and the agent run with wherever this repository starts it: `npm start`
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

/**
 * --liftoff-only: the agent runs its WebAssembly (the PostgreSQL parser, libpg-query, and the Cedar
 * evaluator) with V8's baseline compiler only. By default V8 recompiles hot wasm functions with
 * TurboFan on background threads, and compiling the parser's large functions takes tens of MiB of
 * compiler memory that the process keeps: an agent that had served pgbench's 32 sessions stayed at
 * 220-270 MiB RSS when idle again, against 150-160 MiB with this flag (heaptrack: the peak was V8's
 * wasm TurboFan zones). The price is paid only on a classification cache miss (a statement text or
 * shape the agent has not seen): a libpg-query parse takes about 70 µs instead of about 50 µs.
 */
export const AGENT_NODE_FLAGS = ['--liftoff-only'];
