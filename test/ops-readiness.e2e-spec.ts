import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApi } from '../apps/api/src/api.bootstrap';
import { startWorker, type RunningWorker } from '../apps/worker/src/worker.bootstrap';
import { waitFor } from './support/harness';
import { TcpProxy } from './support/tcp-proxy';
import type { Db } from '@app/db';
import { QUEUE_BACKENDS, TEST_ADMIN_KEY, TEST_DATABASE_URL, TEST_REDIS_URL, testConfig, testDatabase } from './support/test-env';

// PostgreSQL and Redis are shared with other suites: this one never stops them, it
// reaches them through proxies it can cut.
const backend = QUEUE_BACKENDS[0];

describe(`readiness follows PostgreSQL and the queue backend (${backend})`, () => {
  let pg: TcpProxy;
  let redis: TcpProxy | null = null;
  let api: NestFastifyApplication;
  let worker: RunningWorker;
  let drop: () => Promise<void>;
  let db: Db;
  let urls: string[];

  before(async () => {
    const pgProxy = await TcpProxy.for(TEST_DATABASE_URL, 5432);
    pg = pgProxy.proxy;
    const overrides: Record<string, string> = { DATABASE_URL: pgProxy.url };
    if (backend === 'redis') {
      const r = await TcpProxy.for(TEST_REDIS_URL, 6379);
      redis = r.proxy;
      overrides.REDIS_URL = r.url;
    }
    const config = testConfig(overrides, backend);
    ({ drop, db } = await testDatabase(config));
    api = await createApi(config, { ops: { metricsToken: null, workerOpsPort: null, workerOpsHost: '127.0.0.1' } });
    await api.listen(0, '127.0.0.1');
    worker = await startWorker(config, { ops: { port: 0, host: '127.0.0.1' } });
    urls = [(await api.getUrl()).replace('[::1]', '127.0.0.1'), worker.ops.url as string];
  });
  after(async () => {
    try {
      await pg?.restore();
      await redis?.restore();
      await worker?.close();
      await api?.close();
    } finally {
      // the schemas and Redis keys go even when a close above failed
      await drop?.();
      pg?.close();
      redis?.close();
    }
  });

  const readiness = async () =>
    Promise.all(
      urls.map(async (u) => {
        const r = await fetch(`${u}/health/ready`);
        const body = (await r.json()) as { details?: Record<string, { status: string }> };
        return { status: r.status, database: body.details?.database?.status, queue: body.details?.queue?.status };
      }),
    );
  const until = (what: string, ok: (r: Awaited<ReturnType<typeof readiness>>) => boolean) =>
    waitFor(async () => {
      const r = await readiness();
      return ok(r) ? r : null;
    }, what, 20_000, 250);

  it('is ready while both answer', async () => {
    for (const r of await readiness()) assert.deepEqual(r, { status: 200, database: 'up', queue: 'up' });
  });

  it('answers 503 while PostgreSQL is unreachable, and recovers', async () => {
    await pg.cut();
    // no pause: a query on a connection that is dying must fail that query, not crash the process
    const down = await until('503 with the database down', (rs) => rs.every((r) => r.status === 503 && r.database === 'down'));
    if (backend === 'redis') for (const r of down) assert.equal(r.queue, 'up', 'Redis still answers');
    for (const u of urls) assert.equal((await fetch(`${u}/health/live`)).status, 200, 'liveness does not depend on PostgreSQL');
    await pg.restore();
    await until('ready again', (rs) => rs.every((r) => r.status === 200));
  });

  it('answers 503 while Redis is unreachable, and recovers', { skip: backend !== 'redis' && 'Redis is not available' }, async () => {
    await redis?.cut();
    const down = await until('503 with the queue down', (rs) => rs.every((r) => r.status === 503 && r.queue === 'down'));
    for (const r of down) assert.equal(r.database, 'up');
    // a send is refused at once and leaves no row behind
    const key = (await (await fetch(`${urls[0]}/v1/apps`, { method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'down' }) })).json()) as { id: string; keys: Array<{ key: string }> };
    const started = Date.now();
    const sent = await fetch(`${urls[0]}/v1/notifications`, { method: 'POST', headers: { authorization: `Bearer ${key.keys[0].key}`, 'content-type': 'application/json' }, body: JSON.stringify({ targets: { all: true }, title: 'x' }), signal: AbortSignal.timeout(5000) });
    assert.equal(sent.status, 503, await sent.clone().text());
    assert.ok(Date.now() - started < 5000, 'answered without waiting for Redis to come back');
    assert.match(((await sent.json()) as { message: string }).message, /nothing was accepted/);
    const rows = await db.selectFrom('notifications').select('id').where('app_id', '=', key.id).execute();
    assert.deepEqual(rows, [], 'the refused send left no row');
    await redis?.restore();
    await until('ready again', (rs) => rs.every((r) => r.status === 200));
  });
});
