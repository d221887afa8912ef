/* global process, setTimeout, clearInterval, setInterval */
// Child processes of the quickstart launcher: output prefixed per process, every child in
// the launcher's own process group (it leads one, see scripts/quickstart.mjs), stopped in
// an order the launcher chooses within one deadline, and their pids written to a file so a
// later start can end the ones a killed launcher (SIGKILL, crash) left behind.
import { execFileSync, spawn } from 'node:child_process';
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

export function alive(pid) {
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

/**
 * A process's parent, start time and command line: from /proc on Linux, else from ps.
 * Null once it is gone. The start time tells a process from a later one with its pid.
 */
export function processInfo(pid) {
  if (existsSync('/proc/self/stat')) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // the command name is in parentheses and may hold spaces: fields start after the last ')'
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { pid, ppid: Number(fields[1]), started: fields[19], command: cmdline(pid) };
    } catch {
      return null;
    }
  }
  try {
    const out = execFileSync('ps', ['-o', 'ppid=,lstart=,command=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const m = /^(\d+)\s+(\S+\s+\S+\s+\d+\s+\S+\s+\d+)\s+(.*)$/.exec(out);
    return m ? { pid, ppid: Number(m[1]), started: m[2], command: m[3] } : null;
  } catch {
    return null;
  }
}

/**
 * The processes between this one and the `npm` that started it (the shell npm runs the
 * script in, and npm itself), nearest first; just the parent when npm did not start it.
 */
export function launchingAncestors() {
  const chain = [];
  let info = processInfo(process.ppid);
  while (info && info.pid > 1 && chain.length < 4) {
    chain.push(info);
    if (!process.env.npm_lifecycle_event || /(^|[/\s])npm(-cli\.js)?(\s|$)/.test(info.command)) break;
    info = processInfo(info.ppid);
  }
  return chain;
}

/**
 * Calls `onGone(info)` once when one of `processes` ends (or its pid is taken by another).
 * npm forwards SIGINT and SIGTERM to the shell it runs a script in, and that shell (dash)
 * dies of them without passing them on; a SIGHUP kills npm alone. Either way the launcher
 * would be left running: watching them is how it hears.
 */
export function watchProcesses(processes, onGone, everyMs = 200) {
  const timer = setInterval(() => {
    for (const p of processes) {
      const now = processInfo(p.pid);
      if (!now || now.started !== p.started) {
        clearInterval(timer);
        onGone(p);
        return;
      }
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Sends `signal` to every process of the group `pgid`; false when there is none left. */
export function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
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
    let pids = [];
    try {
      pids = JSON.parse(readFileSync(this.pidFile, 'utf8'));
    } catch {
      /* a file cut short by a crash: nothing to go by */
    }
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

  /** Starts a Node child in this process's group (not detached: it goes when the group goes). */
  start(name, args, env) {
    const child = spawn(process.execPath, args, { cwd: this.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
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

  /**
   * Stops the processes one by one, in the given order, each with SIGTERM, all within
   * `deadline` (a Date.now() value): what still runs then is killed (SIGKILL).
   */
  async stopAll(order, deadline, log = () => {}) {
    this.stopping = true;
    const byName = new Map(this.procs.map((p) => [p.name, p]));
    const names = [...order.filter((n) => byName.has(n)), ...this.procs.map((p) => p.name).filter((n) => !order.includes(n))];
    for (const name of names) {
      const p = byName.get(name);
      if (p.exited) continue;
      log(`stopping ${name}`);
      p.child.kill('SIGTERM');
      const left = Math.max(0, deadline - Date.now());
      const done = await Promise.race([p.exit.then(() => true), new Promise((r) => setTimeout(() => r(false), left))]);
      if (!done) {
        log(`${name} did not stop in time: killing it`);
        p.child.kill('SIGKILL');
        await p.exit;
      }
    }
    rmSync(this.pidFile, { force: true });
  }
}
