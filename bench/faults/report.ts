import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../stack';
import type { ScenarioResult } from './scenario';

export interface FaultRun {
  commit: string;
  startedAt: string;
  finishedAt?: string;
  machine: { nproc: number; cpu: string; node: string; loadAtStart: string };
  options: Record<string, unknown>;
  notes: string[];
  results: ScenarioResult[];
}

export function runHeader(options: Record<string, unknown>): FaultRun {
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    if (execSync('git status --porcelain', { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()) commit += ' (with uncommitted changes)';
  } catch {
    // not a git checkout
  }
  return {
    commit, startedAt: new Date().toISOString(), options, notes: [], results: [],
    machine: { nproc: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, loadAtStart: loadavg().map((x) => x.toFixed(2)).join(' ') },
  };
}

const n = (x: number | null | undefined) => (x === null || x === undefined ? '—' : x.toLocaleString('en-US'));

/** The rate column: the busiest credential's requests/s during the outage, and the bound. */
function rateCell(r: ScenarioResult): string {
  if (r.rates.length === 0) return r.rateBound === null ? '' : '—';
  const top = [...r.rates].sort((a, b) => b.perSecond - a.perSecond)[0];
  const mark = top.perSecond > (r.rateBound ?? Infinity) ? ' **over**' : '';
  return `${top.perSecond} (${top.provider}, peak ${top.peakSecond})${mark}`;
}

/**
 * How a scenario misses the done criteria, one line per miss (none: it meets them).
 * The report prints them; test/faults.e2e-spec.ts asserts there are none.
 */
export function verdicts(r: ScenarioResult): string[] {
  const out: string[] = [];
  const a = r.accounting;
  if (r.error) out.push(`error: ${r.error}`);
  if (!a) return out.length ? out : ['not measured'];
  if (r.faultStartS === null) out.push('the fault never happened');
  if (a.lost > 0) out.push(`${a.lost} lost`);
  if (a.gaveUp > 0) out.push(`${a.gaveUp} gave up (${Object.keys(a.reasons)[0] ?? ''})`);
  if (r.recoverS === null) out.push('not final in time');
  if (!a.trueCounts) out.push(`counts: ${a.mismatches[0]}`);
  if (r.duplicateBound !== null && a.duplicated > r.duplicateBound) out.push(`${a.duplicated} duplicates > bound ${r.duplicateBound}`);
  if (r.rateBound !== null) for (const x of r.rates) if (x.perSecond > r.rateBound) out.push(`${x.provider} ${x.perSecond} req/s > ${r.rateBound}`);
  return out;
}

export function markdownTable(results: ScenarioResult[]): string {
  const head = '| scenario | backend | sent | received | lost | gave up | duplicated (bound) | final status | true counts | recovered after fault end | outage req/s per credential (max) |\n'
    + '|---|---|---:|---:|---:|---:|---:|---|:---:|---:|---|';
  const rows = results.map((r) => {
    const a = r.accounting;
    const recover = r.recoverS === null ? (r.faultEndS === null ? '—' : '**not final**') : `${r.recoverS} s`;
    return `| ${r.scenario} | ${r.backend} | ${n(a?.sent ?? r.devices)} | ${n(a?.received)} | ${n(a?.lost)} | ${n(a?.gaveUp)} | ${n(a?.duplicated)} (${n(r.duplicateBound)}) | ${r.status ?? (r.error ? 'error' : '—')} | ${a ? (a.trueCounts ? 'yes' : 'no') : '—'} | ${recover} | ${rateCell(r)} |`;
  });
  return [head, ...rows].join('\n');
}

export function markdown(run: FaultRun): string {
  const lines = [
    `# Fault suite — ${run.startedAt}`,
    '',
    `Commit ${run.commit}; ${run.machine.nproc} CPUs (${run.machine.cpu}), Node ${run.machine.node}, load at start ${run.machine.loadAtStart}.`,
    `Options: \`${JSON.stringify(run.options)}\``,
    '',
    markdownTable(run.results),
    '',
    '## Verdicts',
    '',
    ...run.results.map((r) => `- ${r.scenario} / ${r.backend}: ${verdicts(r).join('; ') || 'meets the criteria'}`),
    '',
    ...(run.notes.length ? ['## Notes', '', ...run.notes.map((x) => `- ${x}`), ''] : []),
    '## Timelines',
    '',
    ...run.results.flatMap((r) => [`### ${r.scenario} / ${r.backend}`, '', ...r.timeline.map((t) => `- ${t}`), ...r.notes.map((t) => `- note: ${t}`), '']),
  ];
  return lines.join('\n');
}

export function writeRun(dir: string, run: FaultRun): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = run.startedAt.replace(/[:.]/g, '-');
  const json = join(dir, `faults-${stamp}.json`);
  const md = join(dir, `faults-${stamp}.md`);
  writeFileSync(json, `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(md, `${markdown(run)}\n`);
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(join(dir, 'latest.md'), `${markdown(run)}\n`);
  return { json, md };
}
