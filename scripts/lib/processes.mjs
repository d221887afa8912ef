/* global process, setTimeout */
// Child processes of one launcher: output prefixed per process, started in their own
// process group so the launcher decides the shutdown order (a Ctrl-C reaches only the
// launcher), and their pids written to a file so a later start can end the ones a
// killed launcher (SIGKILL, crash) left behind.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const COLORS = [36, 35, 33, 32, 34, 31];
const useColor = process.stdout.isTTY && !process.env.NO_COLOR;

/** Writes each complete line of a stream with a prefix. */
function pipeLines(stream, out, prefix) {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const line of lines) out.write(`${prefix}${line}\n`);
  });
  stream.on('end', () => {
    if (pending) out.write(`${prefix}${pending}\n`);
  });
}

export function prefixFor(name, index, width = 8) {
  const label = `[${name}]`.padEnd(width + 2);
  return useColor ? `\x1b[${COLORS[index % COLORS.length]}m${label}\x1b[0m ` : `${label} `;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

export class ProcessGroup {
  /** @param {{ cwd: string, pidFile: string }} opts */
  constructor({ cwd, pidFile }) {
    this.cwd = cwd;
    this.pidFile = pidFile;
    /** @type {Array<{ name: string, child: import('node:child_process').ChildProcess, exit: Promise<{code: number|null, signal: string|null}>, exited: boolean }>} */
    this.procs = [];
    this.stopping = false;
    this.onUnexpectedExit = () => {};
  }

  /**
   * Ends processes recorded by an earlier launcher that did not get to stop them.
   * Only pids whose command line still names `marker` are touched (pids get reused).
   */
  async reapLeftovers(marker, log) {
    if (!existsSync(this.pidFile)) return;
    const pids = JSON.parse(readFileSync(this.pidFile, 'utf8'));
    // Last started first: the api before the worker before the sandbox.
    for (const { name, pid } of pids.reverse()) {
      if (!alive(pid) || !cmdline(pid).includes(marker)) continue;
      log(`${name} (pid ${pid}) is still running from an earlier start: stopping it`);
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + 15_000;
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    rmSync(this.pidFile, { force: true });
  }

  start(name, args, env) {
    const child = spawn(process.execPath, args, { cwd: this.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const prefix = prefixFor(name, this.procs.length);
    pipeLines(child.stdout, process.stdout, prefix);
    pipeLines(child.stderr, process.stderr, prefix);
    const entry = { name, child, exited: false, exit: null };
    entry.exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        entry.exited = true;
        resolve({ code, signal });
        if (!this.stopping) this.onUnexpectedExit(name, code, signal);
      });
    });
    this.procs.push(entry);
    writeFileSync(this.pidFile, JSON.stringify(this.procs.map((p) => ({ name: p.name, pid: p.child.pid }))));
    return entry;
  }

  /** Stops the processes one by one, in the given order, each with SIGTERM then (after `graceMs`) SIGKILL. */
  async stopAll(order, graceMs = 20_000, log = () => {}) {
    this.stopping = true;
    const byName = new Map(this.procs.map((p) => [p.name, p]));
    const names = [...order.filter((n) => byName.has(n)), ...this.procs.map((p) => p.name).filter((n) => !order.includes(n))];
    for (const name of names) {
      const p = byName.get(name);
      if (p.exited) continue;
      log(`stopping ${name}`);
      p.child.kill('SIGTERM');
      const done = await Promise.race([p.exit.then(() => true), new Promise((r) => setTimeout(() => r(false), graceMs))]);
      if (!done) {
        log(`${name} did not stop within ${graceMs / 1000}s: killing it`);
        p.child.kill('SIGKILL');
        await p.exit;
      }
    }
    rmSync(this.pidFile, { force: true });
  }
}
