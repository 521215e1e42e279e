import { relative } from 'node:path';
import { ROOT } from './processes.ts';

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

/**
 * The busy samples taken between `from` and `to` (monotonic µs): how many per node, and in all.
 * Startup and idle time are not the load's cost, so `(idle)` samples and those outside are left out.
 */
export function busySamples(profile: Profile, from: number, to: number) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map<number, number>();
  let at = profile.startTime;
  let total = 0;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (at < from || at > to || byId.get(id)!.callFrame.functionName === '(idle)') return;
    counts.set(id, (counts.get(id) ?? 0) + 1);
    total++;
  });
  return { byId, counts, total };
}

/** Each node's caller, to walk a sample's stack upwards. */
export function parentsOf(profile: Profile): Map<number, number> {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  return parent;
}

/** The frame's file, relative to the repository ('' for native frames). */
export function frameWhere(node: ProfileNode): string {
  return node.callFrame.url ? relative(ROOT, node.callFrame.url.replace('file://', '')) : '';
}

/** `function file:line`, the name a frame is counted under. */
export function frameKey(node: ProfileNode): string {
  const where = frameWhere(node);
  return `${node.callFrame.functionName || '(anonymous)'} ${where}${where ? `:${node.callFrame.lineNumber + 1}` : ''}`;
}

/** The npm package a frame belongs to, `node: internals`, a top directory of ours, or the native/V8 name. */
export function packageOf(where: string, fn: string): string {
  if (!where) return fn.startsWith('(') ? fn : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where);
  if (nm) return nm[1]!;
  if (where.startsWith('node:')) return 'node: internals';
  return where.split('/').slice(0, 1).join('/') || where;
}
