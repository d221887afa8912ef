import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DeliveryRun } from './fanout';
import type { UnicastStep } from './unicast';
import { median, round, type MachineInfo } from './util';

/** All runs of one system on one fan-out (a provider, or "mixed"). */
export interface SystemRuns {
  scenario: string;
  system: string;
  runs: DeliveryRun[];
}

export interface BenchResults {
  machine: MachineInfo;
  options: Record<string, unknown>;
  fanout: SystemRuns[];
  unicast: UnicastStep[];
  webpushCpu: Array<{ webPushAsShipped: number; cachedVapid: number; speedup: number; load: string }>;
  profile: Record<string, unknown> | null;
  notes: string[];
  finishedAt?: string;
}

export interface RatioRow {
  scenario: string;
  gatewayPerSecond: number;
  versus: string;
  otherPerSecond: number;
  /** Median of the per-run ratios (gateway run i / other run i, same session). */
  ratio: number;
  target: number;
  met: boolean;
}

const med = (runs: DeliveryRun[], f: (r: DeliveryRun) => number) => round(median(runs.map(f)));

export function ratioRows(r: BenchResults): RatioRow[] {
  const rows: RatioRow[] = [];
  const scenarios = [...new Set(r.fanout.map((s) => s.scenario))];
  for (const sc of scenarios) {
    const gw = r.fanout.find((s) => s.scenario === sc && s.system === 'gateway');
    if (!gw) continue;
    for (const other of r.fanout.filter((s) => s.scenario === sc && s.system !== 'gateway')) {
      const pairs = Math.min(gw.runs.length, other.runs.length);
      const ratios = Array.from({ length: pairs }, (_, i) => gw.runs[i].perSecond / other.runs[i].perSecond);
      const target = other.system.startsWith('raw') ? 0.8 : other.system.startsWith('node-pushnotifications') ? 3 : NaN;
      const ratio = round(median(ratios), 2);
      rows.push({
        scenario: sc, gatewayPerSecond: med(gw.runs, (x) => x.perSecond), versus: other.system,
        otherPerSecond: med(other.runs, (x) => x.perSecond), ratio, target, met: Number.isNaN(target) ? true : ratio >= target,
      });
    }
  }
  return rows;
}

export function ratioTable(rows: RatioRow[]): string {
  const lines = [
    '| fan-out | gateway /s | versus | its /s | ratio (median of pairs) | target | met |',
    '|---|---:|---|---:|---:|---:|:---:|',
  ];
  for (const x of rows) {
    lines.push(`| ${x.scenario} | ${x.gatewayPerSecond} | ${x.versus} | ${x.otherPerSecond} | ${x.ratio}× | ${Number.isNaN(x.target) ? '—' : `≥ ${x.target}×`} | ${Number.isNaN(x.target) ? '—' : x.met ? 'yes' : '**no**'} |`);
  }
  return lines.join('\n');
}

export function fanoutTable(r: BenchResults): string {
  const lines = [
    '| fan-out | system | devices | runs | deliveries/s (start→last) | sandbox first→last /s | start→last receipt ms | delivered | rejected | peak RSS api / worker MB | CPU µs per delivery: sender / sandbox / PostgreSQL+Redis | load (1/5/15) last run |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|',
  ];
  for (const s of r.fanout) {
    const runs = s.runs;
    const rss = runs[0]?.rssPeakMb ? `${round(median(runs.map((x) => x.rssPeakMb?.api ?? NaN)))} / ${round(median(runs.map((x) => x.rssPeakMb?.worker ?? NaN)))}` : '—';
    const c = (k: string) => med(runs, (x) => x.cpuUsPerDelivery?.[k] ?? NaN);
    const cpu = runs[0]?.cpuUsPerDelivery
      ? `${s.system === 'gateway' ? `${c('api') + c('worker')} (api ${c('api')} + worker ${c('worker')})` : c('bench')} / ${c('sandbox')} / ${Number.isNaN(c('stores')) ? '—' : c('stores')}`
      : '—';
    lines.push(`| ${s.scenario} | ${s.system} | ${runs[0]?.devices ?? 0} | ${runs.length} | ${med(runs, (x) => x.perSecond)} | ${med(runs, (x) => x.sandboxPerSecond)} | ${med(runs, (x) => x.startToLastMs)} | ${med(runs, (x) => x.delivered)} | ${med(runs, (x) => x.rejected)} | ${rss} | ${cpu} | ${runs[runs.length - 1]?.load ?? ''} |`);
  }
  return lines.join('\n');
}

export function unicastTable(steps: UnicastStep[]): string {
  const lines = [
    '| target /s | duration s | accepted /s | API p50 ms | API p99 ms | API max ms | accept→delivery p50 ms | p99 ms | matched | errors | peak RSS api / worker MB | load |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|',
  ];
  for (const s of steps) {
    lines.push(`| ${s.targetRate}${s.workerPaused ? ' (worker paused)' : ''} | ${s.durationS} | ${s.acceptedPerSecond} | ${s.apiP50Ms} | ${s.apiP99Ms} | ${s.apiMaxMs} | ${s.workerPaused ? '—' : s.acceptToDeliveryP50Ms} | ${s.workerPaused ? '—' : s.acceptToDeliveryP99Ms} | ${s.deliveryMatched}/${s.accepted} | ${JSON.stringify(s.errors)} | ${s.rssPeakMb.api} / ${s.rssPeakMb.worker} | ${s.load} |`);
  }
  return lines.join('\n');
}

export function markdown(r: BenchResults): string {
  const m = r.machine;
  const out = [
    `# Benchmark run ${m.startedAt}`,
    '',
    `Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.ramGb} GB RAM, Node ${m.node}, Linux ${m.kernel}, PostgreSQL ${m.postgres}, Redis ${m.redis}. Load average at start: ${m.loadAtStart}.`,
    '',
    `Options: \`${JSON.stringify(r.options)}\``,
    '',
  ];
  if (r.fanout.length) out.push('## Fan-out (medians)', '', fanoutTable(r), '', '## Ratios (pair by pair, same session)', '', ratioTable(ratioRows(r)), '');
  if (r.unicast.length) out.push('## Unicast (open loop)', '', unicastTable(r.unicast), '');
  if (r.webpushCpu.length) {
    out.push('## Web Push CPU (sends per CPU-second, no network)', '', '| web-push as shipped | gateway path (cached VAPID) | speedup | load |', '|---:|---:|---:|---|');
    for (const w of r.webpushCpu) out.push(`| ${w.webPushAsShipped} | ${w.cachedVapid} | ${w.speedup}× | ${w.load} |`);
    out.push('');
  }
  if (r.profile) out.push('## Profile', '', '```json', JSON.stringify(r.profile, null, 2), '```', '');
  if (r.notes.length) out.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}

/** One colour per kind of system: the raw clients of all providers are one kind. */
const family = (system: string): string =>
  system.startsWith('raw ') ? 'raw client send()' : system.startsWith('node-pushnotifications') ? 'node-pushnotifications' : system;

/** A grouped bar chart (deliveries/s per fan-out and system) as SVG. */
export function chartSvg(r: BenchResults): string {
  const scenarios = [...new Set(r.fanout.map((s) => s.scenario))];
  const systems = [...new Set(r.fanout.map((s) => family(s.system)))];
  const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
  const value = (sc: string, sys: string) => {
    const s = r.fanout.find((x) => x.scenario === sc && family(x.system) === sys);
    return s ? median(s.runs.map((x) => x.perSecond)) : 0;
  };
  const max = Math.max(1, ...scenarios.flatMap((sc) => systems.map((sys) => value(sc, sys))));
  const W = 900;
  const H = 460;
  const left = 80;
  const bottom = 60;
  const top = 50;
  const plotH = H - top - bottom;
  const groupW = (W - left - 20) / Math.max(1, scenarios.length);
  const barW = Math.min(40, (groupW - 20) / Math.max(1, systems.length));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" font-size="16" text-anchor="middle">Fan-out deliveries per second (median of runs; ${r.machine.nproc} CPUs, load ${r.machine.loadAtStart})</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5;
    const y = top + plotH - (plotH * i) / 5;
    parts.push(`<line x1="${left}" x2="${W - 20}" y1="${y}" y2="${y}" stroke="#ddd"/>`, `<text x="${left - 6}" y="${y + 4}" font-size="11" text-anchor="end">${Math.round(v)}</text>`);
  }
  scenarios.forEach((sc, gi) => {
    const gx = left + gi * groupW + 10;
    systems.forEach((sys, si) => {
      const v = value(sc, sys);
      const h = (plotH * v) / max;
      const x = gx + si * barW;
      parts.push(`<rect x="${x}" y="${top + plotH - h}" width="${barW - 3}" height="${h}" fill="${colors[si % colors.length]}"/>`);
      if (v > 0) parts.push(`<text x="${x + (barW - 3) / 2}" y="${top + plotH - h - 3}" font-size="9" text-anchor="middle">${Math.round(v)}</text>`);
    });
    parts.push(`<text x="${gx + (systems.length * barW) / 2}" y="${H - bottom + 16}" font-size="12" text-anchor="middle">${sc}</text>`);
  });
  systems.forEach((sys, si) => {
    const x = left + si * 190;
    parts.push(`<rect x="${x}" y="${H - 22}" width="12" height="12" fill="${colors[si % colors.length]}"/>`, `<text x="${x + 16}" y="${H - 12}" font-size="11">${sys}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export async function writeResults(dir: string, r: BenchResults): Promise<{ json: string; md: string; png: string | null }> {
  mkdirSync(dir, { recursive: true });
  const stamp = r.machine.startedAt.replace(/[:.]/g, '-');
  const json = join(dir, `bench-${stamp}.json`);
  const md = join(dir, `bench-${stamp}.md`);
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(md, markdown(r));
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(join(dir, 'latest.md'), markdown(r));
  let png: string | null = null;
  if (r.fanout.length) {
    const svg = chartSvg(r);
    writeFileSync(join(dir, `bench-${stamp}.svg`), svg);
    const { Resvg } = await import('@resvg/resvg-js');
    const buf = new Resvg(svg, { font: { loadSystemFonts: true }, background: 'white' }).render().asPng();
    png = join(dir, `bench-${stamp}.png`);
    writeFileSync(png, buf);
    writeFileSync(join(dir, 'latest.png'), buf);
  }
  return { json, md, png };
}

/** Re-renders the Markdown and the chart of a results file: node dist/bench/report.js <results.json> [out dir]. */
if (require.main === module) {
  const file = process.argv[2];
  const r = JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
  writeResults(process.argv[3] ?? dirname(file), r).then((f) => process.stdout.write(`${JSON.stringify(f)}\n`));
}
