/** One line of the chart. */
export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

/**
 * A small self-contained SVG line chart: x on a log2 scale (concurrency), y linear from 0.
 *
 * @example
 * await writeFile('chart.svg', lineChart('tools/call per second', 'concurrent connections', 'requests/s', series));
 */
export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const width = 720;
  const height = 420;
  const margin = { left: 70, right: 220, top: 40, bottom: 50 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const maxY = niceCeiling(Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.y))));
  const lx = (x: number) => Math.log2(x);
  const [x0, x1] = [lx(xs[0] ?? 1), lx(xs.at(-1) ?? 2)];
  const px = (x: number) => margin.left + (x1 === x0 ? plotW / 2 : ((lx(x) - x0) / (x1 - x0)) * plotW);
  const py = (y: number) => margin.top + plotH - (y / maxY) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${margin.left}" y="24" font-size="15" font-weight="bold">${escape(title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const y = (maxY / 5) * i;
    out.push(
      `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${py(y)}" y2="${py(y)}" stroke="#ddd"/>`,
      `<text x="${margin.left - 8}" y="${py(y) + 4}" text-anchor="end">${Math.round(y).toLocaleString('en-US')}</text>`,
    );
  }
  for (const x of xs) {
    out.push(
      `<line x1="${px(x)}" x2="${px(x)}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#eee"/>`,
      `<text x="${px(x)}" y="${margin.top + plotH + 18}" text-anchor="middle">${x}</text>`,
    );
  }
  out.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`,
    `<text x="${margin.left + plotW / 2}" y="${height - 10}" text-anchor="middle">${escape(xLabel)}</text>`,
    `<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const points = [...s.points].sort((a, b) => a.x - b.x);
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const p of points) out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = margin.top + 10 + i * 20;
    out.push(
      `<line x1="${margin.left + plotW + 15}" x2="${margin.left + plotW + 35}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${margin.left + plotW + 40}" y="${ly + 4}">${escape(s.name)}</text>`,
    );
  });
  out.push('</svg>', '');
  return out.join('\n');
}

/** 1, 2, 2.5 or 5 times a power of ten, at least `value`. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function escape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
