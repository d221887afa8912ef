import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Server } from 'node:http';
import { chromium, type Browser } from 'playwright-core';

/** Debian's `chromium` package; CHROMIUM_PATH overrides it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

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

/**
 * Headless Chromium (Debian's package, driven by playwright-core). A missing browser is a
 * failure, not a skip: the message says how to install it.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is required for the browser tests and was not found at ${CHROMIUM_PATH}. ` +
        'Install it with `sudo apt-get install -y chromium` (Debian/Ubuntu), or point CHROMIUM_PATH at a Chromium/Chrome binary.',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
