/** Type-checked examples for svg-chart.ts (its JSDoc shows these regions). */
import { stackedBars } from './svg-chart.ts';

export function stackedBarsExample() {
  //#region stackedBars
  const svg = stackedBars('Tokens per hour', ['10:00', '11:00'], [{ name: 'authorization_code', values: [3, 5] }]);
  //#endregion stackedBars
  return svg;
}
