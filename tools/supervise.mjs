// Part of `npm start`: keeps a child process running. When it dies (crash, kill -9) it is started
// again after a delay that doubles on every quick death (a child that crashes at once must not
// spin) and resets once the child has stayed up for a while.

/**
 * @param {object} opts
 * @param {string} opts.name              for messages
 * @param {() => import('node:child_process').ChildProcess} opts.spawn  starts one instance
 * @param {number} [opts.minDelayMs]      first restart delay
 * @param {number} [opts.maxDelayMs]      cap of the doubling delay
 * @param {number} [opts.stableAfterMs]   a child up this long resets the delay
 * @param {(line: string) => void} [opts.log]
 */
export function supervise({ name, spawn, minDelayMs = 500, maxDelayMs = 30_000, stableAfterMs = 10_000, log = (line) => console.error(line) }) {
  let stopped = false;
  let child;
  let timer;
  let delay = minDelayMs;
  let restarts = 0;
  const listeners = new Set();

  const launch = () => {
    timer = undefined;
    const startedAt = Date.now();
    let ended = false;
    child = spawn();
    const onEnd = (how) => {
      if (ended) return;
      ended = true;
      if (stopped) return;
      if (Date.now() - startedAt >= stableAfterMs) delay = minDelayMs;
      log(`${name} ${how}; restarting it in ${delay} ms`);
      timer = setTimeout(() => {
        restarts += 1;
        launch();
        for (const l of listeners) l(child);
      }, delay);
      delay = Math.min(delay * 2, maxDelayMs);
    };
    child.once('exit', (code, signal) => onEnd(`exited (${signal ?? code})`));
    // A failed spawn (missing binary) emits 'error' and may never emit 'exit'.
    child.once('error', (err) => onEnd(`could not run (${err.message})`));
  };
  launch();

  return {
    get child() {
      return child;
    },
    get restarts() {
      return restarts;
    },
    /** Called with each new child after a restart (to wire its output). */
    onRestart(listener) {
      listeners.add(listener);
    },
    /** Stops supervising and ends the current child; resolves once it has exited. */
    stop(signal = 'SIGTERM') {
      stopped = true;
      if (timer) clearTimeout(timer);
      const current = child;
      if (!current || current.exitCode !== null || current.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        current.once('exit', () => resolve());
        current.kill(signal);
      });
    },
  };
}
