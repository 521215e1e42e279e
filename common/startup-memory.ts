import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Gives back the memory that loading the server took, once it is listening: one memory-reducing
 * garbage collection, scheduled by V8 (async, so no request waits on it). Loading the modules
 * (and stripping their types) grows V8's young generation to 32 MB, and a server that then sits
 * idle keeps it committed; this returns about 20 MB of idle RSS per server (bench/FINDINGS.md).
 * Under load the young generation grows again as V8 sees fit: only the start-up leftovers go.
 *
 * The collector is taken from a fresh context with `--expose-gc` set just for that, then unset,
 * so no `gc` global is left for code to find.
 *
 * ```ts source="./startup-memory.examples.ts#releaseStartupMemory"
 * const server = await listen(app, config.port, config.host);
 * releaseStartupMemory();
 * ```
 */
export function releaseStartupMemory(): void {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (options: { type: 'major'; execution: 'async'; flavor: 'last-resort' }) => void;
    v8.setFlagsFromString('--no-expose-gc');
    gc({ type: 'major', execution: 'async', flavor: 'last-resort' });
  } catch {
    // Only memory is at stake: a Node without this still serves.
  }
}
