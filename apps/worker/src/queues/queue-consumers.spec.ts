import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_QUEUES, BackendWorker, QUEUE_JOBS, type QueueName } from '@app/queue';
import { checkRouting } from './queue-consumers';
import { QueueHost } from './queue-host';

const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };

class TestHost extends QueueHost {}

/** A host as @nestjs/bullmq leaves it: its worker attached (no connection is made). */
function host(queue: string, jobs: readonly string[], backend: 'redis' | 'postgres' = 'redis'): QueueHost {
  const worker = Object.assign(Object.create(BackendWorker.prototype) as BackendWorker, { name: queue, backendKind: backend });
  const h = new TestHost(quiet, 1, Object.fromEntries(jobs.map((j) => [j, async () => undefined])));
  return Object.assign(h, { _worker: worker });
}

const complete = () => ALL_QUEUES.map((q) => host(q, QUEUE_JOBS[q as QueueName]));

describe('queue routing check', () => {
  it('accepts one processor per queue handling exactly its job names', () => {
    checkRouting(complete(), 'redis');
  });
  it('refuses a queue without a processor', () => {
    assert.throws(() => checkRouting(complete().filter((h) => h.worker.name !== 'deliver-wns'), 'redis'), /queue deliver-wns has no handler/);
  });
  it('refuses two processors on one queue', () => {
    assert.throws(() => checkRouting([...complete(), host('fanout', QUEUE_JOBS.fanout)], 'redis'), /queue fanout has 2 processors/);
  });
  it('refuses a processor that misses a job name, or handles one the queue does not carry', () => {
    const missing = complete().map((h) => (h.worker.name === 'webhooks' ? host('webhooks', []) : h));
    assert.throws(() => checkRouting(missing, 'redis'), /queue webhooks: TestHost handles \[\] but the queue carries \[webhook.deliver\]/);
    const extra = complete().map((h) => (h.worker.name === 'direct' ? host('direct', [...QUEUE_JOBS.direct, 'deliver.batch']) : h));
    assert.throws(() => checkRouting(extra, 'redis'), /queue direct: TestHost handles/);
  });
  it('refuses a processor of an unknown queue, and workers on another backend', () => {
    assert.throws(() => checkRouting([...complete(), host('deliver-pigeon', ['deliver.batch'])], 'redis'), /unknown queue deliver-pigeon/);
    assert.throws(() => checkRouting(complete(), 'postgres'), /not a postgres BackendWorker/);
  });
});
