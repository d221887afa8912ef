import { execSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Nearest-rank percentile of an unsorted list (0 < p ≤ 100). */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
}

export const round = (x: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

export const loadAvg = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  ramGb: number;
  node: string;
  kernel: string;
  loadAtStart: string;
  postgres: string;
  redis: string;
  startedAt: string;
}

function tryExec(cmd: string): string {
  try {
    return execSync(cmd, { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim();
  } catch {
    return 'unknown';
  }
}

export function machineInfo(databaseUrl: string, redisUrl: string | null): MachineInfo {
  let nproc = cpus().length;
  const fromNproc = Number(tryExec('nproc'));
  if (Number.isInteger(fromNproc) && fromNproc > 0) nproc = fromNproc;
  return {
    nproc,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    ramGb: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    kernel: tryExec('uname -r'),
    loadAtStart: loadAvg(),
    postgres: tryExec(`psql "${databaseUrl}" -Atc "show server_version"`),
    redis: redisUrl ? tryExec(`redis-cli -u "${redisUrl}" info server`).split('\n').find((l) => l.startsWith('redis_version'))?.split(':')[1]?.trim() ?? 'unknown' : 'none',
    startedAt: new Date().toISOString(),
  };
}

/** Current and peak resident set size of a process, in MB (from /proc). */
export function rssOf(pid: number): { rssMb: number; hwmMb: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
    return { rssMb: round(kb('VmRSS') / 1024, 1), hwmMb: round(kb('VmHWM') / 1024, 1) };
  } catch {
    return { rssMb: NaN, hwmMb: NaN };
  }
}

/** Samples the RSS of some processes every `everyMs` until stopped; returns the peaks seen. */
export function rssSampler(pids: Record<string, number>, everyMs = 100) {
  const peak: Record<string, number> = {};
  const start: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    start[name] = rssOf(pid).rssMb;
    peak[name] = start[name];
  }
  const timer = setInterval(() => {
    for (const [name, pid] of Object.entries(pids)) {
      const { rssMb } = rssOf(pid);
      if (rssMb > (peak[name] ?? 0)) peak[name] = rssMb;
    }
  }, everyMs);
  return {
    stop(): { start: Record<string, number>; peak: Record<string, number>; end: Record<string, number> } {
      clearInterval(timer);
      const end: Record<string, number> = {};
      for (const [name, pid] of Object.entries(pids)) end[name] = rssOf(pid).rssMb;
      return { start, peak, end };
    },
  };
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(lanes);
  return out;
}

export function chunk<T>(xs: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

export const log = (msg: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)} load ${loadavg()[0].toFixed(2)}] ${msg}\n`);
};

/** CPU time (user + system) a process has used so far, ms (from /proc/<pid>/stat, 100 Hz ticks). */
export function cpuMsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/**
 * CPU used by some processes (and this one, as "bench") between start and stop, in
 * microseconds per delivered message: on a shared machine this moves less with the
 * neighbours' load than throughput does.
 */
/**
 * CPU ms by pid of every local PostgreSQL and Redis server process (the machine's stores,
 * whoever uses them).
 */
export function storesCpuMs(): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (comm === 'postgres' || comm === 'redis-server') out.set(Number(pid), cpuMsOf(Number(pid)) || 0);
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * CPU the stores spent since `before`: processes alive at the end count from their start
 * value (0 for new ones). One that exited in between takes its CPU time with it, so this
 * is a lower bound; the gateway's pooled connections live through a run.
 */
export function storesCpuSince(before: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of storesCpuMs()) total += Math.max(0, ms - (before.get(pid) ?? 0));
  return total;
}

export function cpuMeter(pids: Record<string, number>) {
  const start = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMsOf(pid)]));
  const stores0 = storesCpuMs();
  const self = process.cpuUsage();
  return {
    perDeliveryUs(delivered: number): Record<string, number> {
      const out: Record<string, number> = {};
      for (const [k, pid] of Object.entries(pids)) out[k] = round(((cpuMsOf(pid) - start[k]) * 1000) / Math.max(1, delivered));
      out.stores = round((storesCpuSince(stores0) * 1000) / Math.max(1, delivered));
      const used = process.cpuUsage(self);
      out.bench = round((used.user + used.system) / Math.max(1, delivered));
      return out;
    },
  };
}
