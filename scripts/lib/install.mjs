/* global process */
// What the launchers (npm test, npm run quickstart) check before anything else: the Node
// version against package.json "engines", and whether node_modules is what
// package-lock.json says (else `npm ci`). Node built-ins only: on a fresh clone this runs
// before anything is installed.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const parse = (v) => v.replace(/^v/, '').split('.').map((n) => Number.parseInt(n, 10) || 0);
const compare = (a, b) => {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
};

/**
 * Whether `version` satisfies `range`, for the forms package.json "engines" uses here:
 * alternatives joined by `||`, each `^x.y.z`, `>=x.y.z`, `>x.y.z`, `<x.y.z` or several of them
 * separated by spaces (all must hold). Anything else is an error, not a silent pass.
 */
export function satisfies(version, range) {
  const v = parse(version);
  return range.split('||').some((alternative) => alternative.trim().split(/\s+/).every((c) => {
    const m = /^(\^|>=|>|<=|<|=)?v?(\d+(?:\.\d+){0,2})$/.exec(c);
    if (!m) throw new Error(`cannot read the version range "${range}" (at "${c}")`);
    const [, op = '=', ref] = m;
    const r = parse(ref);
    const cmp = compare(v, r);
    switch (op) {
      case '^': return v[0] === r[0] && cmp >= 0;
      case '>=': return cmp >= 0;
      case '>': return cmp > 0;
      case '<=': return cmp <= 0;
      case '<': return cmp < 0;
      default: return cmp === 0;
    }
  }));
}

/** null when this Node satisfies package.json "engines", else the message to print. */
export function nodeVersionProblem(root, version = process.versions.node) {
  const range = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines?.node;
  if (!range || satisfies(version, range)) return null;
  return `this project needs Node ${range} (package.json "engines"); this is Node ${version}. ` +
    'Nest 12 is ESM-only and our CommonJS build loads it through require(esm), which older Node versions lack. ' +
    'Install a supported Node (for example the current 20.x or 22.x LTS) and retry.';
}

/**
 * Whether `npm ci` is needed, and why: node_modules is missing, was not installed by npm
 * (no node_modules/.package-lock.json, npm's record of what it installed), or differs
 * from package-lock.json (another version or integrity, a package missing, or one the
 * lockfile does not list). Optional packages may be absent (other platforms' binaries).
 *
 * @returns {{ needed: boolean, reason: string }}
 */
export function installState(root) {
  const lockFile = join(root, 'package-lock.json');
  const hiddenFile = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(join(root, 'node_modules'))) return { needed: true, reason: 'node_modules is missing' };
  if (!existsSync(hiddenFile)) return { needed: true, reason: 'node_modules was not installed by npm (no node_modules/.package-lock.json)' };
  if (!existsSync(lockFile)) return { needed: true, reason: 'package-lock.json is missing' };
  const wanted = JSON.parse(readFileSync(lockFile, 'utf8')).packages ?? {};
  const installed = JSON.parse(readFileSync(hiddenFile, 'utf8')).packages ?? {};
  const stale = [];
  for (const [path, entry] of Object.entries(wanted)) {
    if (path === '') continue;
    const have = installed[path];
    if (!have) {
      if (!entry.optional) stale.push(`${path.replace(/^.*node_modules\//, '')} is not installed`);
    } else if (have.version !== entry.version || (entry.integrity && have.integrity && have.integrity !== entry.integrity)) {
      stale.push(`${path.replace(/^.*node_modules\//, '')} is ${have.version}, the lockfile says ${entry.version}`);
    } else if (!entry.link && !existsSync(join(root, path, 'package.json'))) {
      stale.push(`${path.replace(/^.*node_modules\//, '')} was removed from node_modules`);
    }
  }
  for (const path of Object.keys(installed)) {
    if (!(path in wanted)) stale.push(`${path.replace(/^.*node_modules\//, '')} is installed but not in the lockfile`);
  }
  if (stale.length === 0) return { needed: false, reason: 'node_modules matches package-lock.json' };
  const more = stale.length > 3 ? ` and ${stale.length - 3} more` : '';
  return { needed: true, reason: `node_modules differs from package-lock.json (${stale.slice(0, 3).join('; ')}${more})` };
}

/**
 * Runs `npm ci` when installState() says so. Returns what it did; throws when npm ci fails.
 * @param {{ root: string, log: (line: string) => void, npm?: string, stdio?: import('node:child_process').StdioOptions }} opts
 */
export function ensureInstalled({ root, log, npm = process.platform === 'win32' ? 'npm.cmd' : 'npm', stdio = 'inherit' }) {
  const state = installState(root);
  if (!state.needed) return { installed: false, reason: state.reason };
  log(`${state.reason}: npm ci (installs exactly package-lock.json)`);
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio, env: process.env });
  if (r.status !== 0) throw new Error(`npm ci failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`}); its output is above`);
  return { installed: true, reason: state.reason };
}
