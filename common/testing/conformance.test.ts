import { describe, expect, it } from 'vitest';
import { conformanceProblems, type ConformanceCheck, type ConformanceResult } from './conformance.ts';

const check = (id: string, status: string, errorMessage?: string): ConformanceCheck => ({
  id,
  name: id,
  description: `${id} check`,
  status,
  errorMessage,
});

function result(scenarios: Record<string, ConformanceCheck[]>, exitCode: number | null = 0, timedOut = false): ConformanceResult {
  return { exitCode, signal: null, timedOut, output: '', scenarios: new Map(Object.entries(scenarios)) };
}

describe('the verdict on a conformance run', () => {
  it('is clean only when the CLI exited 0 and every check of every expected scenario is SUCCESS', () => {
    expect(
      conformanceProblems(result({ a: [check('x', 'SUCCESS'), check('y', 'SUCCESS')], b: [check('z', 'SUCCESS')] }), ['a', 'b']),
    ).toEqual([]);
  });

  it('counts a WARNING as a problem even though the CLI exits 0 for it', () => {
    expect(conformanceProblems(result({ a: [check('cimd', 'WARNING', 'missing flag')] }), ['a'])).toEqual([
      'a: WARNING cimd (cimd check): missing flag',
    ]);
  });

  it('counts FAILURE, SKIPPED and INFO checks as problems', () => {
    const problems = conformanceProblems(
      result({ a: [check('f', 'FAILURE'), check('s', 'SKIPPED', 'requires --client-id'), check('i', 'INFO')] }, 1),
      ['a'],
    );
    expect(problems).toEqual([
      'the conformance CLI exited with 1',
      'a: FAILURE f (f check)',
      'a: SKIPPED s (s check): requires --client-id',
      'a: INFO i (i check)',
    ]);
  });

  it('with allowInfo (client scenarios log requests as INFO) ignores INFO but still counts a WARNING', () => {
    expect(conformanceProblems(result({ a: [check('i', 'INFO'), check('w', 'WARNING')] }), ['a'], { allowInfo: true })).toEqual([
      'a: WARNING w (w check)',
    ]);
  });

  it('counts an expected scenario that recorded no checks, and an unexpected one that ran', () => {
    expect(conformanceProblems(result({ a: [], c: [check('x', 'SUCCESS')] }), ['a', 'b'])).toEqual([
      'a: no checks recorded',
      'b: no checks recorded',
      'c: ran but was not expected',
    ]);
  });

  it('counts a timeout and a kill', () => {
    expect(conformanceProblems(result({ a: [check('x', 'SUCCESS')] }, null, true), ['a'])).toEqual([
      'the conformance CLI timed out and was killed',
      'the conformance CLI exited with null',
    ]);
  });
});
