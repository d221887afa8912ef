import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { markdownTable, verdicts } from '../bench/faults/report';
import { runScenario, type ScenarioResult } from '../bench/faults/scenario';
import { BACKENDS, SCENARIOS, SMALL } from '../bench/faults/scenarios';
import { FAULTS_DATA, redisServerBinary } from '../bench/faults/stores';

/**
 * The fault suite's small version (issue #14): every scenario with a few hundred devices,
 * on each queue backend it applies to, each on its own PostgreSQL and Redis that it kills
 * (bench/faults/, docs/reliability.md). Asserted for each: a final status within the
 * scale's recovery time after the fault, 0 lost, 0 given up (every device was deliverable
 * and every fault temporary), counts equal to the receipts and the delivery rows,
 * duplicates within the requests in flight at the fault, and during a push-service outage
 * about 1 request per second per credential besides probes.
 */
const hasRedis = redisServerBinary() !== null;
if (!hasRedis) console.log('# faults: no redis-server binary on PATH, so the Redis backend (and its Redis scenarios) is skipped');

/** The processes' logs of the last run only (api.log, worker.log, … per scenario). */
const LOG_DIR = join(FAULTS_DATA, 'test-logs');
rmSync(LOG_DIR, { recursive: true, force: true });
const log = (m: string) => {
  if (process.env.FAULTS_VERBOSE) console.log(`# ${m}`);
};
const results: ScenarioResult[] = [];
/** The scenario still running, if a test timed out: the next one waits for its cleanup. */
let running: Promise<unknown> = Promise.resolve();
/** A scenario is bounded by its own deadlines; this is the backstop if one of them is not. */
const TIMEOUT_MS = SMALL.reachMs + SMALL.pgLongMs + SMALL.recoverMs + 120_000;

after(async () => {
  await running.catch(() => undefined);
  if (results.length) console.log(markdownTable(results).split('\n').map((l) => `# ${l}`).join('\n'));
});

for (const backend of BACKENDS) {
  const skip = backend === 'redis' && !hasRedis ? 'no redis-server binary on PATH' : false;
  describe(`fault suite, ${SMALL.devices} devices, ${backend} queue backend`, { skip }, () => {
    for (const def of SCENARIOS.filter((s) => s.backends.includes(backend))) {
      it(`${def.id}: ${def.title}`, { timeout: TIMEOUT_MS }, async () => {
        await running.catch(() => undefined);
        const run = runScenario(def, backend, SMALL, { logDir: LOG_DIR, log });
        running = run;
        const r = await run;
        results.push(r);
        const problems = verdicts(r);
        assert.deepEqual(problems, [], `${def.id} on ${backend}:\n  ${problems.join('\n  ')}\n  timeline:\n    ${r.timeline.join('\n    ')}`);
      });
    }
  });
}
