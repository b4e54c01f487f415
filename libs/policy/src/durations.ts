/** Durations in annotations: a positive integer and one unit, e.g. `90s`, `5m`, `1h`, `7d`. */
const DURATION = /^([1-9][0-9]{0,6})(s|m|h|d)$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

export interface DurationBounds {
  minSeconds: number;
  maxSeconds: number;
}

/** Returns seconds, or an error message naming the accepted form and bounds. */
export function parseDuration(raw: string, bounds: DurationBounds): { seconds: number } | { error: string } {
  const match = DURATION.exec(raw.trim());
  if (!match) {
    return { error: `"${raw}" is not a duration (expected a number and a unit s, m, h or d, e.g. "15m")` };
  }
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
  if (seconds < bounds.minSeconds || seconds > bounds.maxSeconds) {
    return { error: `"${raw}" is out of range (${bounds.minSeconds}s to ${bounds.maxSeconds}s)` };
  }
  return { seconds };
}
