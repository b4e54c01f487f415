/*
 * Where one message of a session spends its time on the data path, for benchmarks only.
 *
 * The data path marks named points (a client chunk arriving, a DATA frame leaving, a record made
 * durable, ...) with the tunnel stream id. Nothing is recorded unless a sink is installed, which
 * only a benchmark does (bench/support/hop-trace.mjs, loaded with `node --import`): a mark is then a
 * single check of a module variable. Both ends use the same monotonic clock
 * (process.hrtime.bigint), so marks of the control plane and of the agent can be put side by side.
 */
export type HopSink = (point: string, streamId: number, atNs: bigint) => void;

let sink: HopSink | undefined;

/** Installs (or, with undefined, removes) the process-wide receiver of marks. */
export function installHopTrace(receiver: HopSink | undefined): void {
  sink = receiver;
}

/** Marks that a message of stream `streamId` reached `point` now. */
export function hopMark(point: string, streamId: number): void {
  if (sink !== undefined) sink(point, streamId, process.hrtime.bigint());
}

/** True while a sink is installed (lets a caller skip work that only feeds marks). */
export function hopTraceOn(): boolean {
  return sink !== undefined;
}
