/**
 * The fault suite (issue #14): `npm run faults` builds, then runs every scenario on both
 * queue backends at 40,000 devices and writes bench/results/faults/ (JSON + Markdown).
 *
 *   npm run faults -- [--scale full|small] [--devices N] [--backends redis,postgres]
 *                     [--scenarios worker-kill,hang,…] [--out dir]
 *
 * Each scenario starts its own PostgreSQL and Redis (never the machine's), sandbox, api
 * and workers; see docs/reliability.md for what each does and how it is counted.
 */
import { join } from 'node:path';
import { ROOT } from '../stack';
import { log } from '../util';
import { markdownTable, runHeader, verdicts, writeRun } from './report';
import { runScenario } from './scenario';
import { BACKENDS, SCENARIOS, scale, type Backend } from './scenarios';
import { redisServerBinary } from './stores';

function args() {
  const a = process.argv.slice(2);
  const get = (name: string, def: string): string => {
    const i = a.indexOf(`--${name}`);
    if (i >= 0 && a[i + 1] && !a[i + 1].startsWith('--')) return a[i + 1];
    const eq = a.find((x) => x.startsWith(`--${name}=`));
    return eq ? eq.slice(name.length + 3) : def;
  };
  const list = (name: string, def: string[]) => get(name, def.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  const devices = Number(get('devices', '0')) || undefined;
  return {
    scale: scale(get('scale', 'full'), devices),
    backends: list('backends', BACKENDS) as Backend[],
    scenarios: list('scenarios', SCENARIOS.map((s) => s.id)),
    out: get('out', join(ROOT, 'bench', 'results', 'faults')),
  };
}

async function main(): Promise<void> {
  const o = args();
  const unknown = o.scenarios.filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length) throw new Error(`unknown scenarios: ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.id).join(', ')})`);
  const run = runHeader({ scale: o.scale.name, devices: o.scale.devices, backends: o.backends, scenarios: o.scenarios, env: o.scale.env });
  let backends = o.backends;
  if (backends.includes('redis') && !redisServerBinary()) {
    const note = 'no redis-server binary on PATH: the Redis backend and the Redis scenarios were not run';
    log(note);
    run.notes.push(note);
    backends = backends.filter((b) => b !== 'redis');
  }
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      // a second signal exits now: the exit hooks (stores.ts) kill what is still running
      if (stopping) process.exit(130);
      stopping = true;
      log(`${sig}: stopping after this scenario (again to stop at once)`);
    });
  }
  const logDir = join(o.out, 'logs', run.startedAt.replace(/[:.]/g, '-'));
  for (const backend of backends) {
    for (const def of SCENARIOS.filter((s) => o.scenarios.includes(s.id) && s.backends.includes(backend))) {
      if (stopping) break;
      log(`— ${def.id} on ${backend}, ${o.scale.devices} devices (${o.scale.name}) —`);
      const r = await runScenario(def, backend, o.scale, { logDir, log });
      run.results.push(r);
      log(`${def.id}/${backend}: ${verdicts(r).join('; ') || 'meets the criteria'}`);
      writeRun(o.out, run); // after every scenario: a long run interrupted still leaves its table
    }
  }
  run.finishedAt = new Date().toISOString();
  const files = writeRun(o.out, run);
  process.stdout.write(`\n${markdownTable(run.results)}\n\n`);
  log(`results: ${files.md} ${files.json}; process logs in ${logDir}`);
  process.exit(stopping ? 130 : 0);
}

main().catch((e: Error) => {
  log(`fault suite failed: ${e.stack ?? e.message}`);
  process.exit(1);
});
