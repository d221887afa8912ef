import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Server } from 'node:http';
import { chromium, type Browser } from 'playwright-core';

/** The repository root: the first folder above `from` whose package.json is this project's. */
export function repoRoot(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'push-gateway') return dir;
    if (dirname(dir) === dir) throw new Error(`no push-gateway package.json above ${from}`);
  }
}

export interface ServedExample {
  url: string;
  origin: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

// tsc (module: commonjs) would turn import() into require(), which cannot load an .mjs file
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/** Serves examples/web with the example's own server (examples/web/serve.mjs) on a random loopback port. */
export async function serveWebExample(): Promise<ServedExample> {
  const file = join(repoRoot(), 'examples', 'web', 'serve.mjs');
  const mod = (await importEsm(pathToFileURL(file).href)) as { serveExample(o: { port: number; host: string }): Promise<ServedExample> };
  return mod.serveExample({ port: 0, host: '127.0.0.1' });
}

export interface FoundChromium {
  path: string;
  why: string;
  /** chrome-headless-shell (the npm-shipped build): no notification display, see the browser test. */
  headlessShell: boolean;
}

/** Where the browser comes from: scripts/lib/browser.mjs (CHROMIUM_PATH, the system's, else the npm-shipped one). */
export async function findChromium(): Promise<FoundChromium> {
  const root = repoRoot();
  const mod = (await importEsm(pathToFileURL(join(root, 'scripts', 'lib', 'browser.mjs')).href)) as {
    findChromium(o: { root: string; log: (line: string) => void }): Promise<FoundChromium>;
  };
  // npm test has already printed which browser and why
  return mod.findChromium({ root, log: () => {} });
}

/**
 * Headless Chromium driven by playwright-core, from findChromium(). No browser is a failure,
 * not a skip: the message says what is missing and how to get it.
 */
export async function launchChromium(): Promise<{ browser: Browser; found: FoundChromium }> {
  const found = await findChromium();
  const browser = await chromium.launch({
    executablePath: found.path,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return { browser, found };
}
