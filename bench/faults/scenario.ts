import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, loadConfig } from '@app/common';
import { closeProviders, createProviderContext, createProviders, type ProviderName } from '@app/providers';
import type { TrafficMeter, TrafficSnapshot } from '@app/sandbox';
import { provisionSplitApp } from '../devices';
import { http, sandboxStats, startStack, totalDelivered, type BenchStack } from '../stack';
import { sleep } from '../util';
import {
  FINAL_STATUSES, account, duplicateBound, fetchDeliveries, fetchReceiptCounts, getJson, outageRates,
  type Accounting, type CredentialRate, type NotificationView,
} from './measure';
import { faultDurationMs, type Backend, type Scale, type ScenarioDef } from './scenarios';
import { FAULTS_DATA, PrivatePostgres, PrivateRedis, onExitKill } from './stores';

/** Answers in this window before a fault moment count as in flight: the time a worker may take to record an answer it got. */
export const ANSWER_WINDOW_MS = 500;
/** "About 1 request per second per credential besides probes": how much above (1 + probes/s) still counts as about. */
export const RATE_TOLERANCE = 1.25;

export interface ScenarioResult {
  scenario: string;
  title: string;
  backend: Backend;
  scale: string;
  devices: number;
  workers: number;
  notificationId: string | null;
  status: string | null;
  counts: NotificationView['counts'] | null;
  accounting: Accounting | null;
  /** Duplicates allowed: requests in flight (and just answered) at each fault moment. */
  duplicateBound: number | null;
  /** Seconds from the send. */
  faultStartS: number | null;
  faultEndS: number | null;
  finalS: number | null;
  /** Final status seen this long after the fault ended (negative: during the fault); null: not final by the deadline. */
  recoverS: number | null;
  /** Service faults: requests per second and credential during the outage (after the grace). */
  rates: CredentialRate[];
  /** Requests per second and credential allowed during an outage: (1 + probes/s) × tolerance. */
  rateBound: number | null;
  timeline: string[];
  notes: string[];
  error: string | null;
}

const isFinal = (s: string | null | undefined) => !!s && FINAL_STATUSES.includes(s);

/**
 * One scenario, from nothing to nothing: private PostgreSQL (and Redis), sandbox, api and
 * worker(s) as processes from dist/, an app with the scale's devices (half Web Push, half
 * APNs), one `{all: true}` notification, the fault at its moment, the wait for a final
 * status, and the accounting. Every wait is bounded; everything started is stopped and
 * every data folder removed, whatever happens.
 */
export async function runScenario(def: ScenarioDef, backend: Backend, sc: Scale, opts: { logDir: string; log: (m: string) => void }): Promise<ScenarioResult> {
  const r: ScenarioResult = {
    scenario: def.id, title: def.title, backend, scale: sc.name, devices: sc.devices, workers: def.workers, notificationId: null, status: null,
    counts: null, accounting: null, duplicateBound: null, faultStartS: null, faultEndS: null, finalS: null, recoverS: null, rates: [],
    rateBound: null, timeline: [], notes: [], error: null,
  };
  const runDir = join(FAULTS_DATA, `${def.id}-${backend}-${randomBytes(3).toString('hex')}`);
  const cleanups: Array<() => Promise<unknown>> = [];
  let t0 = Date.now();
  const mark = (event: string) => {
    const line = `${((Date.now() - t0) / 1000).toFixed(1)} s ${event}`;
    r.timeline.push(line);
    opts.log(`${def.id}/${backend}: ${line}`);
  };
  try {
    const pg = await PrivatePostgres.create(join(runDir, 'pg'), opts.log);
    cleanups.push(() => pg.destroy());
    let redis: PrivateRedis | null = null;
    if (backend === 'redis') {
      const rd = await PrivateRedis.create(join(runDir, 'redis'), def.fault.kind === 'redis-kill' && def.fault.appendonly);
      cleanups.push(() => rd.destroy());
      redis = rd;
    }
    const stack = await startStack({
      databaseUrl: pg.url, redisUrl: redis?.url ?? null, countOnly: false, logDir: join(opts.logDir, `${def.id}-${backend}`),
      workers: def.workers, workerEnv: sc.env, stopTimeoutMs: 5000, dropOnClose: false,
    });
    const unregister = onExitKill(() => [stack.procs.sandbox, stack.procs.api, ...stack.procs.workers].forEach((p) => p.child.kill('SIGKILL')));
    cleanups.push(async () => {
      await stack.close();
      unregister();
    });
    const providers = createProviders(createProviderContext(loadConfig(stack.env), createLogger('faults')));
    cleanups.push(() => closeProviders(providers));
    const counts = { webpush: Math.ceil(sc.devices / 2), apns: Math.floor(sc.devices / 2) } satisfies Partial<Record<ProviderName, number>>;
    const app = await provisionSplitApp(stack, pg.url, providers, counts, `faults-${def.id}`);
    const control = async (method: string, path: string, body?: unknown) => {
      const res = await http(method, `${stack.controlUrl}${path}`, body);
      if (res.status >= 300) throw new Error(`sandbox ${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    };
    if (sc.sandboxDelayMs) await control('POST', '/faults', { kind: 'delay', delayMs: sc.sandboxDelayMs });
    const snapshot = async () => (await control('GET', `/traffic?windowMs=${ANSWER_WINDOW_MS}`)) as unknown as TrafficSnapshot;
    const auth = { authorization: `Bearer ${app.sendKey}` };

    t0 = Date.now();
    const sent = await http<{ id: string }>('POST', `${stack.apiUrl}/v1/notifications`, {
      targets: { all: true }, title: 'Fault suite', body: `Scenario ${def.id}`, data: { scenario: def.id }, ttlSeconds: 3600,
    }, auth);
    if (sent.status !== 202) throw new Error(`send: ${sent.status} ${JSON.stringify(sent.body)}`);
    const id = sent.body.id;
    r.notificationId = id;
    mark(`sent ${id} to ${sc.devices} devices`);

    let status: string | null = null;
    const poll = async () => {
      try {
        const v = await http<NotificationView>('GET', `${stack.apiUrl}/v1/notifications/${id}`, undefined, auth);
        if (v.status === 200) status = v.body.status;
      } catch {
        // the API may be down with PostgreSQL: try again later
      }
      return status;
    };
    const pollMs = sc.devices > 5000 ? 200 : 50;
    const reach = async (fraction: number): Promise<boolean> => {
      const deadline = Date.now() + sc.reachMs;
      while (Date.now() < deadline) {
        if (totalDelivered(await sandboxStats(stack.controlUrl)) >= fraction * sc.devices) return true;
        await sleep(pollMs);
      }
      return false;
    };
    const snaps: TrafficSnapshot[] = [];
    const f = def.fault;
    let faultStart = 0;
    let faultEnd = 0;
    if (f.kind === 'worker-kill') {
      for (const at of f.at) {
        if (!(await reach(at))) {
          r.notes.push(`${Math.round(at * 100)} % not received within ${sc.reachMs / 1000} s: that kill was skipped`);
          break;
        }
        snaps.push(await snapshot());
        const victim = stack.procs.workers[0];
        await stack.killWorker(victim, 'SIGKILL');
        faultEnd = Date.now();
        faultStart ||= faultEnd;
        mark(`SIGKILL worker pid ${victim.pid} at ${Math.round(at * 100)} % (in flight ${JSON.stringify(snaps[snaps.length - 1].inFlight)})`);
        if (f.restart) mark(`worker restarted, pid ${(await stack.addWorker()).pid}`);
      }
    } else {
      if (!(await reach(sc.faultAt))) throw new Error(`${Math.round(sc.faultAt * 100)} % not received within ${sc.reachMs / 1000} s`);
      snaps.push(await snapshot());
      const downMs = faultDurationMs(sc, f);
      faultStart = Date.now();
      if (f.kind === 'redis-kill') {
        await (redis as PrivateRedis).kill();
        mark(`redis-server SIGKILL (appendonly ${f.appendonly ? 'yes' : 'no'})`);
        await sleep(downMs);
        await (redis as PrivateRedis).start();
        faultEnd = Date.now();
        mark('redis-server started again');
      } else if (f.kind === 'pg-stop') {
        await pg.stop('fast');
        mark('PostgreSQL stopped (fast)');
        await sleep(downMs);
        await pg.start();
        faultEnd = Date.now();
        mark('PostgreSQL started again');
      } else {
        const retryAfter = f.retryAfter ? sc[f.retryAfter] : undefined;
        await control('POST', '/faults', { provider: 'all', ...f.spec, retryAfter, durationMs: downMs });
        faultEnd = faultStart + downMs;
        mark(`service fault ${JSON.stringify({ ...f.spec, retryAfter })} for ${downMs / 1000} s`);
        while (Date.now() < faultEnd && !isFinal(await poll())) await sleep(250);
        if (isFinal(status)) mark(`final (${status}) during the fault`);
      }
    }
    r.faultStartS = faultStart ? (faultStart - t0) / 1000 : null;
    r.faultEndS = faultEnd ? (faultEnd - t0) / 1000 : null;
    r.duplicateBound = duplicateBound(snaps);

    const deadline = (faultEnd || Date.now()) + sc.recoverMs;
    let finalAt: number | null = isFinal(status) ? Date.now() : null;
    while (finalAt === null && Date.now() < deadline) {
      if (isFinal(await poll())) finalAt = Date.now();
      else await sleep(500);
    }
    if (finalAt !== null) {
      r.finalS = (finalAt - t0) / 1000;
      r.recoverS = faultEnd ? Math.round((finalAt - faultEnd) / 100) / 10 : null;
      mark(`final: ${status}`);
    } else {
      mark(`not final ${sc.recoverMs / 1000} s after the fault ended (status ${status})`);
    }
    if (f.kind === 'service') {
      const end = Math.min(faultEnd, finalAt ?? faultEnd);
      const timeoutMs = (p: ProviderName) => (f.spec.kind === 'hang' ? requestTimeoutMs(stack, p) : 0);
      const windows = Object.fromEntries((Object.keys(counts) as ProviderName[]).map((p) => [p, { from: faultStart + sc.rateGraceMs + timeoutMs(p), to: end }]));
      const traffic = (await control('GET', `/traffic?from=${faultStart}&to=${end}`)) as { perSecond: ReturnType<TrafficMeter['perSecond']> };
      r.rates = outageRates(traffic.perSecond, windows);
      // the per-second counts behind the rates, for the timeline (which provider sent what, when)
      const perSecond = traffic.perSecond.map((c) => `${c.provider}@${((c.second * 1000 - t0) / 1000).toFixed(0)}s:${c.requests}`).join(' ');
      if (perSecond) mark(`requests per second during the fault: ${perSecond}`);
      r.rateBound = Math.round((1 + 1000 / Number(sc.env.CIRCUIT_PROBE_INTERVAL_MS)) * RATE_TOLERANCE * 100) / 100;
      await control('DELETE', '/faults');
    }
    await sleep(sc.settleMs);
    const view = await getJson<NotificationView>(`${stack.apiUrl}/v1/notifications/${id}`, auth);
    r.status = view.status;
    r.counts = view.counts;
    const receipts = await fetchReceiptCounts(stack.controlUrl);
    const rows = await fetchDeliveries(stack.apiUrl, app.sendKey, id, sc.devices);
    r.accounting = account(app.devices, receipts, rows, view);
    mark(`counted: ${JSON.stringify({ received: r.accounting.received, lost: r.accounting.lost, duplicated: r.accounting.duplicated, gaveUp: r.accounting.gaveUp })}`);
  } catch (e) {
    r.error = (e as Error).message;
    mark(`error: ${r.error}`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch((e: Error) => opts.log(`cleanup: ${e.message}`));
    rmSync(runDir, { recursive: true, force: true });
  }
  return r;
}

/** The provider client's request timeout the stack runs with (a hang is noticed no sooner). */
function requestTimeoutMs(stack: BenchStack, p: ProviderName): number {
  const c = loadConfig(stack.env);
  return p === 'apns' ? c.apns.requestTimeoutMs : p === 'webpush' ? c.webpush.requestTimeoutMs : c.fcm.requestTimeoutMs;
}
