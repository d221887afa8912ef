import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { round } from './util';

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Top self-time functions of a V8 .cpuprofile (node --cpu-prof), by file:function. */
export function summariseCpuProfile(dir: string, top = 20): Array<{ fn: string; selfPct: number }> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  if (files.length === 0) return [];
  const prof = JSON.parse(readFileSync(join(dir, files[files.length - 1]), 'utf8')) as { nodes: CpuNode[]; samples: number[] };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const counts = new Map<string, number>();
  for (const id of prof.samples) {
    const n = byId.get(id);
    if (!n) continue;
    const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*\/dist\//, '');
    const key = `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const total = prof.samples.length;
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, c]) => ({ fn, selfPct: round((100 * c) / total, 1) }));
}

/** Aggregates self time by package / area (node_modules/<pkg>, our files, node internals, GC…). */
export function cpuProfileByArea(dir: string): Array<{ area: string; selfPct: number }> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  if (files.length === 0) return [];
  const prof = JSON.parse(readFileSync(join(dir, files[files.length - 1]), 'utf8')) as { nodes: CpuNode[]; samples: number[] };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const counts = new Map<string, number>();
  for (const id of prof.samples) {
    const n = byId.get(id);
    if (!n) continue;
    const url = n.callFrame.url;
    let area = n.callFrame.functionName.startsWith('(') ? n.callFrame.functionName : 'native/builtin';
    const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (nm) area = nm[1];
    else if (url.startsWith('node:')) area = url.split('/')[0].replace(/^node:/, 'node:') + (url.includes('/') ? `/${url.split('/')[1]}` : '');
    else if (/\/(apps|libs)\//.test(url)) area = `ours: ${/\/((apps|libs)\/[^/]+\/src\/[^/]+)/.exec(url)?.[1] ?? url}`;
    counts.set(area, (counts.get(area) ?? 0) + 1);
  }
  const total = prof.samples.length;
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([area, c]) => ({ area, selfPct: round((100 * c) / total, 1) }));
}

/** Redis INFO commandstats as {cmd: {calls, usec}}. */
export async function redisCommandStats(redisUrl: string): Promise<Record<string, { calls: number; usec: number }>> {
  const { Redis } = await import('ioredis');
  const r = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const text = await r.info('commandstats');
    const out: Record<string, { calls: number; usec: number }> = {};
    for (const line of text.split('\n')) {
      const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
      if (m) out[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) };
    }
    return out;
  } finally {
    r.disconnect();
  }
}

/** The commands that cost Redis the most time between two snapshots. */
export function commandStatsDiff(
  before: Record<string, { calls: number; usec: number }>, after: Record<string, { calls: number; usec: number }>, top = 12,
): Array<{ cmd: string; calls: number; ms: number; usPerCall: number }> {
  return Object.entries(after)
    .map(([cmd, a]) => ({ cmd, calls: a.calls - (before[cmd]?.calls ?? 0), usec: a.usec - (before[cmd]?.usec ?? 0) }))
    .filter((x) => x.calls > 0)
    .sort((a, b) => b.usec - a.usec)
    .slice(0, top)
    .map((x) => ({ cmd: x.cmd, calls: x.calls, ms: round(x.usec / 1000), usPerCall: round(x.usec / x.calls, 1) }));
}
