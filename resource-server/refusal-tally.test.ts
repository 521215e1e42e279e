import { describe, expect, it } from 'vitest';
import { parseRefusalReport, REFUSAL_REPORT_MAX_COUNT, REFUSAL_REPORT_MAX_LENGTH } from '../common/refusal-report.ts';
import { refusalTally } from './refusal-tally.ts';

describe('refusal tally', () => {
  it('counts by status and error, with unknown kinds as "other", and reports nothing when there is nothing', () => {
    const tally = refusalTally();
    expect(tally.report()).toBeUndefined();
    tally.count(401, undefined);
    tally.count(401, 'invalid_token');
    tally.count(401, 'invalid_token');
    tally.count(418, 'teapot');
    expect(JSON.parse(tally.report()!.header)).toEqual({ '401 missing_token': 1, '401 invalid_token': 2, other: 1 });
  });

  it('subtracts only what an acknowledged report carried: refusals counted during the pull go in the next one', () => {
    const tally = refusalTally();
    tally.count(403, 'insufficient_scope');
    const inFlight = tally.report()!;
    tally.count(403, 'insufficient_scope');
    tally.count(401, undefined);
    tally.acknowledge(inFlight);
    expect(JSON.parse(tally.report()!.header)).toEqual({ '403 insufficient_scope': 1, '401 missing_token': 1 });
  });

  it('a report that was never acknowledged is sent again whole', () => {
    const tally = refusalTally();
    tally.count(401, 'invalid_token');
    const failed = tally.report()!;
    expect(tally.report()!.header).toBe(failed.header);
  });

  it('every report it makes is one the auth server accepts, and the longest one fits its bound', () => {
    const tally = refusalTally();
    for (const kind of ['400 invalid_request', '401 missing_token', '401 invalid_token', '401 invalid_dpop_proof', '401 use_dpop_nonce']) {
      const [status, error] = kind.split(' ');
      tally.count(Number(status), error);
    }
    tally.count(403, 'insufficient_scope');
    tally.count(503, 'temporarily_unavailable');
    tally.count(500, 'x');
    const report = tally.report()!;
    // The longest possible report (every kind at the maximum) still fits the auth server's bound.
    const longest = JSON.stringify(Object.fromEntries([...report.taken.keys()].map((k) => [k, REFUSAL_REPORT_MAX_COUNT])));
    expect(longest.length).toBeLessThanOrEqual(REFUSAL_REPORT_MAX_LENGTH);
    expect(parseRefusalReport(longest)).toEqual({ counts: expect.any(Object) });
    expect(report.taken.size).toBe(8);
    expect(parseRefusalReport(report.header)).toEqual({ counts: Object.fromEntries(report.taken) });
  });
});
