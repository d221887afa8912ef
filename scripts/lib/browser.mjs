/* global process */
// A Chromium for the browser example's test, wherever it is, in this order:
//   1. CHROMIUM_PATH, when it names a file (one that does not exist is reported and passed over);
//   2. the system's Chromium or Chrome (chromium, chromium-browser, google-chrome… on PATH,
//      the macOS applications), or a browser playwright-core itself installed;
//   3. the one the @sparticuz/chromium npm package ships inside itself (a brotli-compressed
//      chrome-headless-shell for Linux x64), unpacked once into .data/chromium/<version>/.
// Nothing is downloaded: npm ci brought the package from the npm registry like any other.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, renameSync, rmSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

const SYSTEM_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'];
const MAC_APPS = [
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];
/** Debian packages of the shared libraries the npm-shipped Chromium links against. */
const DEBIAN_PACKAGE_OF = { libnss3: 'libnss3', libnssutil3: 'libnss3', libsmime3: 'libnss3', libnspr4: 'libnspr4', libplc4: 'libnspr4', libplds4: 'libnspr4', libexpat: 'libexpat1' };

const executable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

function onPath(name, env = process.env) {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** The shared libraries `file` needs that this system lacks (Linux: from ldd; elsewhere: none known). */
export function missingLibraries(file) {
  if (platform() !== 'linux') return [];
  let out = '';
  try {
    out = execFileSync('ldd', [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    out = `${err.stdout ?? ''}`;
  }
  return [...out.matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]);
}

function npmShippedChromium({ root, log }) {
  const require = createRequire(join(root, 'package.json'));
  let pkgFile;
  try {
    // its "exports" do not include package.json: from the entry point up to the package's folder
    for (let dir = dirname(require.resolve('@sparticuz/chromium')); dir !== dirname(dir); dir = dirname(dir)) {
      if (existsSync(join(dir, 'package.json')) && JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name === '@sparticuz/chromium') {
        pkgFile = join(dir, 'package.json');
        break;
      }
    }
  } catch {
    /* not installed */
  }
  if (!pkgFile) throw new Error('no Chromium on this system, and the @sparticuz/chromium package is not installed (npm ci installs it)');
  if (platform() !== 'linux' || arch() !== 'x64') {
    throw new Error(`no Chromium on this system, and the one @sparticuz/chromium ships runs on Linux x64 only (this is ${platform()}-${arch()}): install Chromium or Chrome, or set CHROMIUM_PATH`);
  }
  const { version } = JSON.parse(readFileSync(pkgFile, 'utf8'));
  const dir = join(root, '.data', 'chromium', version);
  const binary = join(dir, 'chromium');
  if (!existsSync(binary)) {
    // The package unpacks into os.tmpdir(); a child process with TMPDIR pointing at a
    // folder of ours keeps it out of the shared /tmp, and the rename makes a half-unpacked
    // folder (an interrupted run) never look like a finished one.
    const staging = `${dir}.unpacking-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    log(`unpacking the Chromium that @sparticuz/chromium ${version} ships into ${dir}`);
    const r = spawnSync(process.execPath, ['-e', 'require("@sparticuz/chromium").executablePath().then((p) => console.log(p))'], {
      cwd: root, env: { ...process.env, TMPDIR: staging }, encoding: 'utf8',
    });
    if (r.status !== 0 || !existsSync(join(staging, 'chromium'))) {
      rmSync(staging, { recursive: true, force: true });
      throw new Error(`could not unpack @sparticuz/chromium ${version}: ${(r.stderr || r.stdout || `exit ${r.status}`).trim().split('\n').slice(-3).join(' | ')}`);
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  }
  const missing = missingLibraries(binary);
  if (missing.length) {
    const packages = [...new Set(missing.map((lib) => DEBIAN_PACKAGE_OF[lib.replace(/\.so.*$/, '')] ?? lib))];
    throw new Error(
      `the Chromium that @sparticuz/chromium ${version} ships cannot start here: this system lacks ${missing.join(', ')} ` +
        `(Debian/Ubuntu: apt-get install -y ${packages.join(' ')}); or install Chromium itself (apt-get install -y chromium), or set CHROMIUM_PATH`,
    );
  }
  return { path: binary, why: `the chrome-headless-shell ${version} that the @sparticuz/chromium npm package ships; no Chromium or Chrome found on this system`, headlessShell: true };
}

/**
 * @param {{ root: string, log?: (line: string) => void, env?: Record<string, string | undefined> }} opts
 * @returns {Promise<{ path: string, why: string, headlessShell: boolean }>}
 */
export async function findChromium({ root, log = () => {}, env = process.env }) {
  const given = env.CHROMIUM_PATH;
  if (given) {
    if (executable(given)) return { path: given, why: 'CHROMIUM_PATH', headlessShell: false };
    log(`CHROMIUM_PATH=${given} is not an executable file: looking elsewhere`);
  }
  for (const name of SYSTEM_NAMES) {
    const found = onPath(name, env);
    if (found) return { path: found, why: `the system's ${name}, on PATH`, headlessShell: false };
  }
  if (platform() === 'darwin') {
    for (const app of MAC_APPS) if (executable(app)) return { path: app, why: 'the installed application', headlessShell: false };
  }
  try {
    const { chromium } = createRequire(join(root, 'package.json'))('playwright-core');
    const own = chromium.executablePath();
    if (own && executable(own)) return { path: own, why: `a browser playwright-core installed (${dirname(own)})`, headlessShell: false };
  } catch {
    /* playwright-core knows no browser of its own for this platform */
  }
  return npmShippedChromium({ root, log });
}
