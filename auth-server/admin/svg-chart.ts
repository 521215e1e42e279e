/** One stacked part of every bar. */
export interface BarSeries {
  name: string;
  /** One value per bucket. */
  values: number[];
}

const COLORS = ['#2456d6', '#e07a10', '#2ca02c', '#b42318', '#7b4fc9', '#8c564b'];

/**
 * A small stacked bar chart as an SVG string, rendered on the server: no script, no inline
 * style (the pages' CSP allows neither), presentation attributes only. Every text is escaped,
 * so the result can be placed in a page raw.
 *
 * ```ts source="./svg-chart.examples.ts#stackedBars"
 * const svg = stackedBars('Tokens per hour', ['10:00', '11:00'], [{ name: 'authorization_code', values: [3, 5] }]);
 * ```
 */
export function stackedBars(title: string, labels: string[], series: BarSeries[]): string {
  const width = 720;
  const height = 260;
  const margin = { left: 48, right: 170, top: 34, bottom: 40 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const maxY = niceCeiling(Math.max(1, ...totals));
  const slot = plotW / Math.max(1, labels.length);
  const barW = Math.max(1, slot * 0.7);
  const py = (y: number) => margin.top + plotH - (y / maxY) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="${escape(title)}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<text x="${margin.left}" y="20" font-size="14" font-weight="bold" fill="currentColor">${escape(title)}</text>`,
  ];
  // Whole counts: a small maximum gets one grid line per unit, never 0.25 of a login.
  const ticks = maxY <= 4 ? maxY : 4;
  for (let i = 0; i <= ticks; i++) {
    const y = (maxY / ticks) * i;
    out.push(
      `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#8884" />`,
      `<text x="${margin.left - 6}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end" fill="currentColor">${formatNumber(y)}</text>`,
    );
  }
  // A label every few bars so they never overlap.
  const every = Math.max(1, Math.ceil(labels.length / 8));
  labels.forEach((label, i) => {
    const x = margin.left + i * slot + (slot - barW) / 2;
    let base = 0;
    series.forEach((s, k) => {
      const value = s.values[i] ?? 0;
      if (value <= 0) return;
      const top = py(base + value);
      out.push(
        `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${barW.toFixed(1)}" height="${(py(base) - top).toFixed(1)}" fill="${COLORS[k % COLORS.length]}"><title>${escape(`${label} ${s.name}: ${value}`)}</title></rect>`,
      );
      base += value;
    });
    if (i % every === 0) {
      out.push(
        `<text x="${(x + barW / 2).toFixed(1)}" y="${margin.top + plotH + 16}" text-anchor="middle" fill="currentColor">${escape(label)}</text>`,
      );
    }
  });
  out.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${margin.top + plotH}" y2="${margin.top + plotH}" stroke="#888" />`);
  series.forEach((s, k) => {
    const y = margin.top + 8 + k * 18;
    const total = s.values.reduce((a, b) => a + b, 0);
    out.push(
      `<rect x="${margin.left + plotW + 14}" y="${y - 8}" width="10" height="10" fill="${COLORS[k % COLORS.length]}" />`,
      `<text x="${margin.left + plotW + 30}" y="${y + 1}" fill="currentColor">${escape(`${s.name} (${total})`)}</text>`,
    );
  });
  if (series.length === 0) {
    out.push(
      `<text x="${margin.left + plotW / 2}" y="${margin.top + plotH / 2}" text-anchor="middle" fill="currentColor">nothing yet</text>`,
    );
  }
  out.push('</svg>');
  return out.join('');
}

/** 1, 2, 2.5 or 5 times a power of ten, at least `value`. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function escape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}
