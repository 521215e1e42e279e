import { REFUSAL_REPORT_MAX_COUNT, refusalKind } from '../common/refusal-report.ts';

/** What one report carries: the header value and the counts it took, to acknowledge. */
export interface RefusalReport {
  header: string;
  taken: ReadonlyMap<string, number>;
}

export interface RefusalTally {
  /** Counts one refused request (the token gate calls it with the metric). */
  count(status: number, error: string | undefined): void;
  /** The counts not yet acknowledged, as a report; undefined when there are none. */
  report(): RefusalReport | undefined;
  /** The auth server recorded `report`: subtract what it carried. */
  acknowledge(report: RefusalReport): void;
}

/**
 * The token refusals this server has not yet reported to the auth server (common/refusal-report.ts).
 * A report is only subtracted once the auth server acknowledged it (HTTP 200), and by what it
 * carried, not reset to zero: a failed pull loses nothing and sends it again, and refusals
 * counted while a pull is in flight go in the next one, so each refusal is delivered once.
 * Memory is bounded by the kinds (refusalKind maps the rest to `other`).
 *
 * ```ts source="./refusal-tally.examples.ts#refusalTally"
 * const tally = refusalTally();
 * tally.count(401, 'invalid_token');
 * const report = tally.report(); // header '{"401 invalid_token":1}'
 * if (report && (await send(report.header)).ok) tally.acknowledge(report);
 * ```
 */
export function refusalTally(): RefusalTally {
  const counts = new Map<string, number>();
  return {
    count(status, error) {
      const kind = refusalKind(status, error);
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
    },
    report() {
      if (counts.size === 0) return undefined;
      // A backlog past the bound goes in the next reports rather than a header the auth server refuses.
      const taken = new Map([...counts].map(([kind, n]) => [kind, Math.min(n, REFUSAL_REPORT_MAX_COUNT)]));
      return { header: JSON.stringify(Object.fromEntries(taken)), taken };
    },
    acknowledge(report) {
      for (const [kind, n] of report.taken) {
        const left = (counts.get(kind) ?? 0) - n;
        if (left > 0) counts.set(kind, left);
        else counts.delete(kind);
      }
    },
  };
}
