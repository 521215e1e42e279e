/** Type-checked examples for refusal-report.ts (its JSDoc shows these regions). */
import { parseRefusalReport, refusalKind } from './refusal-report.ts';

export function refusalKindExample() {
  //#region refusalKind
  refusalKind(401, undefined); // '401 missing_token'
  refusalKind(418, 'teapot'); // 'other'
  //#endregion refusalKind
}

export function parseRefusalReportExample() {
  //#region parseRefusalReport
  parseRefusalReport('{"401 invalid_token":3}'); // { counts: { '401 invalid_token': 3 } }
  parseRefusalReport('{"x":1}'); // { error: 'unknown refusal kind "x"' }
  //#endregion parseRefusalReport
}
