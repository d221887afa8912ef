import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../../test/support/web-browser';

// tsc (module: commonjs) would turn import() into require(), which cannot load an .mjs file
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

interface InstallModule {
  satisfies(version: string, range: string): boolean;
  nodeVersionProblem(root: string, version?: string): string | null;
  installState(root: string): { needed: boolean; reason: string };
  ensureInstalled(o: { root: string; log: (line: string) => void; npm?: string; stdio?: 'ignore' | 'inherit' | 'pipe' }): { installed: boolean; reason: string };
}

const ROOT = repoRoot(__dirname);
const LOCK = {
  name: 'p', version: '1.0.0', lockfileVersion: 3, requires: true,
  packages: {
    '': { name: 'p', version: '1.0.0', dependencies: { a: '^1.0.0' } },
    'node_modules/a': { version: '1.0.0', integrity: 'sha512-aaa' },
    'node_modules/a/node_modules/c': { version: '3.0.0', integrity: 'sha512-ccc' },
    // another platform's binary: npm does not install it here
    'node_modules/b-darwin': { version: '2.0.0', optional: true, os: ['darwin'] },
  },
};
/** What npm records in node_modules/.package-lock.json after installing LOCK. */
const hidden = (packages: Record<string, unknown> = { 'node_modules/a': LOCK.packages['node_modules/a'], 'node_modules/a/node_modules/c': LOCK.packages['node_modules/a/node_modules/c'] }) =>
  JSON.stringify({ name: 'p', version: '1.0.0', lockfileVersion: 3, requires: true, packages });

describe('launchers: Node version and install detection (scripts/lib/install.mjs)', () => {
  let install: InstallModule;
  let dir: string;
  const project = (name: string, { lock = true, nodeModules = true, hiddenLock = hidden() as string | null } = {}) => {
    const p = join(dir, name);
    mkdirSync(p, { recursive: true });
    writeFileSync(join(p, 'package.json'), JSON.stringify({ name: 'p', version: '1.0.0', engines: { node: '^20.19.0 || >=22.12.0' } }));
    if (lock) writeFileSync(join(p, 'package-lock.json'), JSON.stringify(LOCK));
    if (nodeModules) {
      for (const pkg of ['a', 'a/node_modules/c']) {
        mkdirSync(join(p, 'node_modules', pkg), { recursive: true });
        writeFileSync(join(p, 'node_modules', pkg, 'package.json'), '{}');
      }
      if (hiddenLock !== null) writeFileSync(join(p, 'node_modules', '.package-lock.json'), hiddenLock);
    }
    return p;
  };

  before(async () => {
    install = (await importEsm(pathToFileURL(join(ROOT, 'scripts', 'lib', 'install.mjs')).href)) as InstallModule;
    dir = mkdtempSync(join(tmpdir(), 'pgw-install-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the engines range: Nest 12 needs require(esm), so 20.19+ or 22.12+', () => {
    const range = '^20.19.0 || >=22.12.0';
    const ok = ['20.19.0', '20.20.2', '22.12.0', '24.1.0', 'v22.13.1'];
    const refused = ['18.20.4', '20.18.3', '21.7.3', '22.11.0'];
    for (const v of ok) assert.equal(install.satisfies(v, range), true, v);
    for (const v of refused) assert.equal(install.satisfies(v, range), false, v);
    assert.equal(install.satisfies('20.5.0', '>=20 <21'), true);
    assert.throws(() => install.satisfies('20.0.0', '~20.1'), /cannot read the version range/);
  });

  it('refuses an older Node with the range and the reason, and says nothing on a supported one', () => {
    const p = project('engines');
    assert.equal(install.nodeVersionProblem(p, '20.20.2'), null);
    const problem = install.nodeVersionProblem(p, '20.11.1') ?? '';
    assert.match(problem, /needs Node \^20\.19\.0 \|\| >=22\.12\.0/);
    assert.match(problem, /this is Node 20\.11\.1/);
    assert.match(problem, /require\(esm\)/);
  });

  it('installs when node_modules is missing, was not made by npm, or differs from the lockfile', () => {
    assert.deepEqual(install.installState(project('missing', { nodeModules: false })), { needed: true, reason: 'node_modules is missing' });
    assert.match(install.installState(project('not-npm', { hiddenLock: null })).reason, /no node_modules\/\.package-lock\.json/);

    const older = hidden({ ...JSON.parse(hidden()).packages, 'node_modules/a': { version: '0.9.0', integrity: 'sha512-old' } });
    const stale = install.installState(project('older', { hiddenLock: older }));
    assert.equal(stale.needed, true);
    assert.match(stale.reason, /a is 0\.9\.0, the lockfile says 1\.0\.0/);

    const sameVersionOtherBytes = hidden({ ...JSON.parse(hidden()).packages, 'node_modules/a': { version: '1.0.0', integrity: 'sha512-other' } });
    assert.equal(install.installState(project('integrity', { hiddenLock: sameVersionOtherBytes })).needed, true);

    const nested = hidden({ 'node_modules/a': LOCK.packages['node_modules/a'] });
    assert.match(install.installState(project('nested', { hiddenLock: nested })).reason, /c is not installed/);

    const extra = hidden({ ...JSON.parse(hidden()).packages, 'node_modules/gone': { version: '1.0.0' } });
    assert.match(install.installState(project('extra', { hiddenLock: extra })).reason, /gone is installed but not in the lockfile/);

    const removed = project('removed');
    rmSync(join(removed, 'node_modules', 'a', 'node_modules', 'c'), { recursive: true });
    assert.match(install.installState(removed).reason, /c was removed from node_modules/);
  });

  it('does not install when node_modules matches the lockfile (optional packages of other platforms may be absent)', () => {
    assert.deepEqual(install.installState(project('fresh')), { needed: false, reason: 'node_modules matches package-lock.json' });
  });

  it('agrees with npm about this checkout: what npm test just installed or found is up to date', () => {
    assert.deepEqual(install.installState(ROOT), { needed: false, reason: 'node_modules matches package-lock.json' });
  });

  it('runs `npm ci` when needed, once, and stops with the failure when npm ci fails', () => {
    const p = project('ci', { nodeModules: false });
    const calls = join(p, 'npm-calls');
    // a stand-in npm: records its arguments, then installs what the lockfile says
    const npm = join(p, 'npm');
    writeFileSync(npm, `#!/bin/sh
echo "$@" >> "${calls}"
[ -n "$FAIL_NPM_CI" ] && { echo "npm ERR! stand-in failure" >&2; exit 1; }
mkdir -p node_modules/a/node_modules/c
echo '{}' > node_modules/a/package.json
echo '{}' > node_modules/a/node_modules/c/package.json
cat > node_modules/.package-lock.json <<'JSON'
${hidden()}
JSON
`);
    chmodSync(npm, 0o755);
    const lines: string[] = [];
    assert.deepEqual(install.ensureInstalled({ root: p, log: (l) => lines.push(l), npm, stdio: 'ignore' }), { installed: true, reason: 'node_modules is missing' });
    assert.deepEqual(lines, ['node_modules is missing: npm ci (installs exactly package-lock.json)']);
    assert.deepEqual(install.ensureInstalled({ root: p, log: (l) => lines.push(l), npm, stdio: 'ignore' }), { installed: false, reason: 'node_modules matches package-lock.json' });
    assert.equal(readFileSync(calls, 'utf8'), 'ci --no-audit --no-fund\n', 'npm ci ran once');

    rmSync(join(p, 'node_modules'), { recursive: true });
    process.env.FAIL_NPM_CI = '1';
    try {
      assert.throws(() => install.ensureInstalled({ root: p, log: () => {}, npm, stdio: 'ignore' }), /npm ci failed \(exit 1\)/);
    } finally {
      delete process.env.FAIL_NPM_CI;
    }
  });

  it('npm test stops before anything else on an unsupported Node, and when npm ci fails', () => {
    // a copy of the runner in a project of its own; a stand-in npm on PATH
    const p = project('runner', { nodeModules: false });
    mkdirSync(join(p, 'scripts', 'lib'), { recursive: true });
    copyFileSync(join(ROOT, 'scripts', 'run-tests.mjs'), join(p, 'scripts', 'run-tests.mjs'));
    copyFileSync(join(ROOT, 'scripts', 'lib', 'install.mjs'), join(p, 'scripts', 'lib', 'install.mjs'));
    const bin = join(p, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'npm'), `#!/bin/sh\necho "$@" >> "${join(p, 'npm-calls')}"\necho "npm ERR! stand-in failure" >&2\nexit 1\n`);
    chmodSync(join(bin, 'npm'), 0o755);
    const runner = (engines: string) => {
      writeFileSync(join(p, 'package.json'), JSON.stringify({ name: 'p', version: '1.0.0', engines: { node: engines } }));
      return spawnSync(process.execPath, [join(p, 'scripts', 'run-tests.mjs')], { cwd: p, encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    };

    const old = runner('>=99.0.0');
    assert.equal(old.status, 1);
    assert.match(old.stderr, /this project needs Node >=99\.0\.0/);
    assert.equal(old.stdout.trim().split('\n').at(-1), '0 passed, 1 failed');

    const failing = runner('>=20.0.0');
    assert.equal(failing.status, 1);
    assert.match(failing.stdout, /# Install: node_modules is missing: npm ci/);
    assert.match(failing.stderr, /npm ci failed \(exit 1\)/);
    assert.equal(failing.stdout.trim().split('\n').at(-1), '0 passed, 1 failed');
    assert.equal(readFileSync(join(p, 'npm-calls'), 'utf8'), 'ci --no-audit --no-fund\n', 'npm ci, and nothing after it');
  });
});
