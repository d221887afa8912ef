import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { OutcomeRow } from '@app/db';
import { OutcomeBuffer } from './outcome-buffer';

const row = (i: number): OutcomeRow => ({ deviceId: `d${i}`, provider: 'fcm', status: 'delivered', reason: null, providerMessageId: null, attempts: 1 });

describe('OutcomeBuffer', () => {
  it('writes in groups of at most `size` as outcomes arrive, one write at a time, and the rest on drain', async () => {
    const writes: string[][] = [];
    let inFlight = 0;
    const b = new OutcomeBuffer(async (rows) => {
      inFlight++;
      assert.equal(inFlight, 1, 'never two writes at once');
      await new Promise((r) => setTimeout(r, 5));
      writes.push(rows.map((r) => r.deviceId));
      inFlight--;
    }, { size: 3, ms: 10_000, holdMs: 1000 });
    for (let i = 0; i < 7; i++) b.add(row(i));
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(writes, [['d0', 'd1', 'd2'], ['d3', 'd4', 'd5']], 'full groups were written before the batch ended');
    await b.drain();
    assert.deepEqual(writes.at(-1), ['d6']);
    assert.equal(b.all.length, 7);
  });

  it('writes a partial group after `ms`', async () => {
    const writes: number[] = [];
    const b = new OutcomeBuffer(async (rows) => void writes.push(rows.length), { size: 100, ms: 20, holdMs: 1000 });
    b.add(row(1));
    b.add(row(2));
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(writes, [2]);
    await b.drain();
    assert.deepEqual(writes, [2], 'nothing written twice');
  });

  it('holds outcomes through a database outage and writes them when it answers again', async () => {
    let failures = 3;
    const written: string[] = [];
    const retried: string[] = [];
    const b = new OutcomeBuffer(async (rows) => {
      if (failures-- > 0) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      written.push(...rows.map((r) => r.deviceId));
    }, { size: 10, ms: 1, holdMs: 5000, onRetry: (e) => retried.push(e.message) });
    b.add(row(1), 'gone');
    await b.drain();
    assert.deepEqual(written, ['d1']);
    assert.equal(retried.length, 3);
  });

  it('gives up after holdMs: drain throws, so the job retries and its re-run skips what was written', async () => {
    const b = new OutcomeBuffer(async () => { throw new Error('down'); }, { size: 10, ms: 1, holdMs: 50 });
    b.add(row(1));
    await assert.rejects(b.drain(), /down/);
  });

  it('passes invalid-token marks along with their rows', async () => {
    const marks: Array<{ deviceId: string; reason: string }> = [];
    const b = new OutcomeBuffer(async (_rows, invalid) => void marks.push(...invalid), { size: 10, ms: 1, holdMs: 50 });
    b.add({ ...row(1), status: 'invalid_token', reason: '410' }, '410');
    b.add(row(2));
    await b.drain();
    assert.deepEqual(marks, [{ deviceId: 'd1', reason: '410' }]);
  });
});
