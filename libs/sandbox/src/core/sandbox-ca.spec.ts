import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadOrCreateTls } from './sandbox-ca';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

describe('sandbox CA', () => {
  it('gives every process the same CA when several start on an empty folder at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-ca-'));
    try {
      const script = `const { loadOrCreateTls } = require(${JSON.stringify(require.resolve('./sandbox-ca'))});
        process.stdout.write(require('node:crypto').createHash('sha256').update(loadOrCreateTls(process.argv[1]).caPem).digest('hex'));`;
      const runs = await Promise.all(Array.from({ length: 4 }, () => promisify(execFile)(process.execPath, ['-e', script, dir])));
      const seen = new Set(runs.map((r) => r.stdout));
      assert.equal(seen.size, 1, 'one CA for all of them');
      assert.equal(sha(readFileSync(join(dir, 'ca.pem'), 'utf8')), [...seen][0], 'ca.pem on disk is that CA');
      const ca = new X509Certificate(readFileSync(join(dir, 'ca.pem')));
      const server = new X509Certificate(readFileSync(join(dir, 'server.pem')));
      assert.ok(server.verify(ca.publicKey), 'server.pem is signed by it');
      assert.equal(loadOrCreateTls(dir).caPem, readFileSync(join(dir, 'ca.pem'), 'utf8'), 'and it is reused afterwards');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
