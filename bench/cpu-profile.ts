/** V8's `.cpuprofile` format, as `--cpu-prof` writes it (bench/profile.ts, bench/profile-auth.ts read it). */
export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  /** Microseconds on the monotonic clock (the same as process.hrtime on Linux). */
  startTime: number;
  timeDeltas: number[];
}

/** The monotonic clock in microseconds, as V8's profiler stamps its samples. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);
