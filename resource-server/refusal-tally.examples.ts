/** Type-checked examples for refusal-tally.ts (its JSDoc shows these regions). */
import { refusalTally } from './refusal-tally.ts';

export async function refusalTallyExample(send: (header: string) => Promise<{ ok: boolean }>) {
  //#region refusalTally
  const tally = refusalTally();
  tally.count(401, 'invalid_token');
  const report = tally.report(); // header '{"401 invalid_token":1}'
  if (report && (await send(report.header)).ok) tally.acknowledge(report);
  //#endregion refusalTally
}
