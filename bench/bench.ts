/**
 * The gateway's benchmark: fan-out, unicast load and baselines (raw provider clients,
 * node-pushnotifications, web-push) against the sandbox, on this machine. See BENCHMARKS.md.
 *
 *   npm run bench -- --scenario fanout|unicast|baselines|all --devices 100000 \
 *     --providers webpush,wns,apns,fcm|mixed --runs 3
 *
 * Starts its own sandbox, api and worker (compiled, as child processes) on a fresh
 * schema and queue prefix, provisions apps through the API, registers devices in bulk
 * straight into the devices table, runs each scenario --runs times and writes
 * bench/results/ (JSON, Markdown, PNG chart). Performance goals are checked here only.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, loadConfig } from '@app/common';
import { PROVIDERS, type ProviderName, closeProviders, createProviders, createProviderContext, runWebpushCpuBench } from '@app/providers';
import { NPN_SUPPORTED, npnSend, webPushLibSend } from './baselines';
import { mintCredential, provisionAll, type BenchApp } from './devices';
import { calibrateRaw, gatewayFanout, rawSend, type DeliveryRun } from './fanout';
import { commandStatsDiff, cpuProfileByArea, redisCommandStats, summariseCpuProfile } from './profile';
import { markdown, ratioRows, ratioTable, writeResults, type BenchResults, type SystemRuns } from './report';
import { ROOT, startStack, type BenchStack } from './stack';
import { unicastStep } from './unicast';
import { loadAvg, log, machineInfo } from './util';

function args() {
  const a = process.argv.slice(2);
  const get = (name: string, def: string): string => {
    const i = a.indexOf(`--${name}`);
    if (i >= 0 && a[i + 1] && !a[i + 1].startsWith('--')) return a[i + 1];
    const eq = a.find((x) => x.startsWith(`--${name}=`));
    return eq ? eq.slice(name.length + 3) : def;
  };
  const has = (name: string) => a.includes(`--${name}`);
  const devices = Number(get('devices', '10000'));
  const providersArg = get('providers', 'mixed');
  return {
    scenario: get('scenario', 'all') as 'fanout' | 'unicast' | 'baselines' | 'all',
    devices,
    mixed: providersArg === 'mixed',
    providers: (providersArg === 'mixed' ? [...PROVIDERS] : providersArg.split(',').map((s) => s.trim())) as ProviderName[],
    runs: Number(get('runs', '3')),
    /** Devices the libraries (node-pushnotifications, web-push) send to: a sample of the same devices. */
    libDevices: Number(get('lib-devices', String(Math.min(devices, 10_000)))),
    /** Devices the raw client sends to (the same devices, capped to keep runs bounded). */
    rawDevices: Number(get('raw-devices', String(Math.min(devices, 100_000)))),
    baselines: get('baselines', 'true') !== 'false',
    rates: get('rates', '250,1000,2500,5000').split(',').map(Number),
    duration: Number(get('duration', '8')),
    unicastProvider: get('unicast-provider', ''),
    /** Rates run again with the worker frozen (SIGSTOP): what the API accepts on its own. */
    acceptRates: get('accept-rates', '').split(',').filter(Boolean).map(Number),
    profile: has('profile'),
    timeoutS: Number(get('timeout', String(Math.max(120, Math.ceil(devices / 200))))),
    out: get('out', join(ROOT, 'bench', 'results')),
    databaseUrl: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: process.env.REDIS_URL === '' ? null : process.env.REDIS_URL || 'redis://127.0.0.1:6379',
  };
}

async function availableProviders(stack: BenchStack, wanted: ProviderName[], notes: string[]): Promise<ProviderName[]> {
  const ok: ProviderName[] = [];
  for (const p of wanted) {
    try {
      await mintCredential(stack, p);
      ok.push(p);
    } catch (e) {
      notes.push(`${p} skipped: its sandbox control routes do not answer yet (${(e as Error).message.slice(0, 120)})`);
      log(`${p} skipped: ${(e as Error).message}`);
    }
  }
  return ok;
}

async function main(): Promise<void> {
  const o = args();
  const machine = machineInfo(o.databaseUrl, o.redisUrl);
  log(`machine: ${JSON.stringify(machine)}`);
  const results: BenchResults = { machine, options: { ...o, databaseUrl: undefined, redisUrl: o.redisUrl ? 'redis' : 'none' }, fanout: [], unicast: [], webpushCpu: [], profile: null, notes: [] };
  const logDir = join(o.out, 'logs');
  const countOnly = o.devices > 200_000;
  if (countOnly) results.notes.push('Sandbox ran with SANDBOX_COUNT_ONLY=true (more than 200k devices): totals only.');
  const stack = await startStack({ databaseUrl: o.databaseUrl, redisUrl: o.redisUrl, countOnly, logDir });
  const config = loadConfig(stack.env);
  const providers = createProviders(createProviderContext(config, createLogger('bench')));
  const finish = async () => {
    results.finishedAt = new Date().toISOString();
    const files = await writeResults(o.out, results);
    process.stdout.write(`\n${markdown(results)}\n`);
    log(`results: ${files.md} ${files.json} ${files.png ?? ''}`);
  };
  try {
    const list = await availableProviders(stack, o.providers, results.notes);
    if (list.length === 0) throw new Error('no provider available');
    const withGateway = o.scenario !== 'baselines';
    const wantFanout = o.scenario === 'fanout' || o.scenario === 'all' || o.scenario === 'baselines';
    const provisioned = await provisionAll(stack, o.databaseUrl, providers, list, o.devices, o.mixed && wantFanout);

    if (wantFanout) await fanoutScenarios(o, stack, providers, list, provisioned, withGateway, results);
    if (o.scenario === 'unicast' || o.scenario === 'all') {
      const p = (o.unicastProvider || (list.includes('apns') ? 'apns' : list[0])) as ProviderName;
      const app = provisioned.perProvider[p] as BenchApp;
      results.notes.push(`Unicast: provider ${p}, one device per request from a pool of ${Math.min(2000, app.devices.length)}, queue backend ${o.redisUrl ? 'Redis' : 'PostgreSQL'}.`);
      await unicastStep(stack, app, 100, 2, 2000); // warm-up, not reported
      for (const rate of o.rates) results.unicast.push(await unicastStep(stack, app, rate, o.duration, 2000));
      for (const rate of o.acceptRates) results.unicast.push(await unicastStep(stack, app, rate, o.duration, 2000, { pauseWorker: true }));
      if (o.profile) await unicastProfile(o, stack, app, results);
    }
    if (o.scenario === 'baselines' || o.scenario === 'all' || (o.scenario === 'fanout' && list.includes('webpush'))) {
      for (let i = 0; i < o.runs; i++) {
        const w = runWebpushCpuBench({ messages: 3000 });
        results.webpushCpu.push({ webPushAsShipped: w.webPushAsShipped.sendsPerCpuSecond, cachedVapid: w.cachedVapid.sendsPerCpuSecond, speedup: w.speedup, load: loadAvg() });
        log(`webpush CPU: web-push ${w.webPushAsShipped.sendsPerCpuSecond}/s, ours ${w.cachedVapid.sendsPerCpuSecond}/s (${w.speedup}×)`);
      }
    }
    if (o.profile && wantFanout) await profileRun(o, stack, list, provisioned, results);
  } finally {
    await closeProviders(providers).catch(() => undefined);
    await stack.close().catch((e: Error) => log(`close: ${e.message}`));
  }
  await finish();
  const rows = ratioRows(results);
  if (rows.length) process.stdout.write(`\nRatio table\n\n${ratioTable(rows)}\n`);
}

type Opts = ReturnType<typeof args>;
type Provisioned = Awaited<ReturnType<typeof provisionAll>>;

async function fanoutScenarios(
  o: Opts, stack: BenchStack, providers: ReturnType<typeof createProviders>, list: ProviderName[], provisioned: Provisioned, withGateway: boolean, results: BenchResults,
): Promise<void> {
  const add = (scenario: string, system: string, run: DeliveryRun) => {
    let s = results.fanout.find((x) => x.scenario === scenario && x.system === system);
    if (!s) results.fanout.push((s = { scenario, system, runs: [] } as SystemRuns));
    s.runs.push(run);
    log(`${scenario} ${system}: ${run.delivered}/${run.devices} in ${run.startToLastMs} ms → ${run.perSecond}/s (sandbox ${run.sandboxPerSecond}/s)${run.rssPeakMb ? ` rss ${JSON.stringify(run.rssPeakMb)}` : ''} ${run.status ?? ''}`);
  };
  const timeoutMs = o.timeoutS * 1000;
  for (const p of list) {
    const app = provisioned.perProvider[p] as BenchApp;
    const rawDevices = app.devices.slice(0, o.rawDevices);
    const conc = o.baselines ? await calibrateRaw(stack, providers, p, app, Math.min(rawDevices.length, 5000)) : 8;
    // interleaved: gateway, raw, libraries — so load changes hit every system alike
    for (let i = 0; i < o.runs; i++) {
      if (withGateway) add(p, 'gateway', await gatewayFanout(stack, app, timeoutMs));
      if (!o.baselines) continue;
      add(p, `raw ${p}.send()`, await rawSend(stack, providers, p, app, rawDevices, conc, 500, timeoutMs));
      if (NPN_SUPPORTED.includes(p)) add(p, `node-pushnotifications (${p})`, await npnSend(stack, p, app, app.devices.slice(0, o.libDevices), timeoutMs));
      if (p === 'webpush') add(p, 'web-push sendNotification', await webPushLibSend(stack, app, app.devices.slice(0, o.libDevices), timeoutMs));
    }
  }
  if (provisioned.mixed && withGateway) {
    for (let i = 0; i < o.runs; i++) add('mixed', 'gateway', await gatewayFanout(stack, provisioned.mixed, timeoutMs));
  }
  if (!o.baselines) results.notes.push('Baselines skipped (--baselines false).');
  else {
    results.notes.push(
      `Raw client = the provider module's send() in the benchmark process, batches of 500, best of concurrency 2/8/32 on a 5k sample, over the first ${o.rawDevices} devices.`,
      `node-pushnotifications and web-push send to the first ${o.libDevices} of the same devices (their rate is steady long before that).`,
      'node-pushnotifications cannot be pointed at the FCM stand-in (firebase-admin 13 dials https://fcm.googleapis.com over HTTP/2 with no agent/CA option; httpsAgent only reaches the legacy transport it never enables) nor at the WNS stand-in (the wns package hard-codes login.live.com:443).',
    );
  }
}

/** One more gateway fan-out per provider with the worker under --cpu-prof and Redis commandstats around it. */
async function profileRun(o: Opts, stack: BenchStack, list: ProviderName[], provisioned: Provisioned, results: BenchResults): Promise<void> {
  const profile: Record<string, unknown> = {};
  for (const p of list) {
    const dir = join(o.out, 'profiles', `${p}-${Date.now()}`);
    mkdirSync(dir, { recursive: true });
    await stack.restartWorker({ cpuProfDir: dir });
    const before = o.redisUrl ? await redisCommandStats(o.redisUrl) : {};
    const run = await gatewayFanout(stack, provisioned.perProvider[p] as BenchApp, o.timeoutS * 1000);
    const after = o.redisUrl ? await redisCommandStats(o.redisUrl) : {};
    await stack.restartWorker(); // writes the profile on exit
    profile[p] = {
      run: { perSecond: run.perSecond, startToLastMs: run.startToLastMs, load: run.load },
      workerTopSelf: summariseCpuProfile(dir, 15),
      workerByArea: cpuProfileByArea(dir),
      redisTop: o.redisUrl ? commandStatsDiff(before, after) : 'no redis',
    };
    log(`profile ${p}: ${JSON.stringify(profile[p]).slice(0, 400)}`);
    if (process.env.BENCH_KEEP_PROFILES !== 'true') rmSync(dir, { recursive: true, force: true });
  }
  profile.note = 'Redis commandstats are a diff of the whole server (other test suites may run concurrently). pg_stat_statements is not loaded on this server (shared_preload_libraries is empty), so no per-statement PostgreSQL figures.';
  results.profile = profile;
}

/** One more unicast step (the lowest rate asked for) with api and worker under --cpu-prof. */
async function unicastProfile(o: Opts, stack: BenchStack, app: BenchApp, results: BenchResults): Promise<void> {
  const base = join(o.out, 'profiles', `unicast-${Date.now()}`);
  const dirs = { api: join(base, 'api'), worker: join(base, 'worker') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  await stack.restartApi({ cpuProfDir: dirs.api });
  await stack.restartWorker({ cpuProfDir: dirs.worker });
  const rate = Math.min(...o.rates);
  const step = await unicastStep(stack, app, rate, o.duration, 2000);
  await stack.restartApi(); // each writes its profile on exit
  await stack.restartWorker();
  const profile = (results.profile ?? {}) as Record<string, unknown>;
  profile.unicast = {
    step: { targetRate: rate, acceptedPerSecond: step.acceptedPerSecond, apiP99Ms: step.apiP99Ms, acceptToDeliveryP99Ms: step.acceptToDeliveryP99Ms },
    apiTopSelf: summariseCpuProfile(dirs.api, 15), apiByArea: cpuProfileByArea(dirs.api),
    workerTopSelf: summariseCpuProfile(dirs.worker, 15), workerByArea: cpuProfileByArea(dirs.worker),
  };
  results.profile = profile;
  log(`profile unicast: ${JSON.stringify(profile.unicast)}`);
  if (process.env.BENCH_KEEP_PROFILES !== 'true') rmSync(base, { recursive: true, force: true });
}

main().catch((e: Error) => {
  process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});

