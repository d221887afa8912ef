#!/usr/bin/env node
/* global process, console, URL */
// A tiny static server for this example (no dependencies): `node examples/web/serve.mjs`
// serves examples/web on http://localhost:8080/. Service workers and the Push API need a
// secure context: https, or http on localhost / 127.0.0.1, which is why it binds to loopback.
//
//   node examples/web/serve.mjs [--port 8080] [--host 127.0.0.1]   (or PORT=… HOST=…)
//
// The end-to-end test imports serveExample() to serve the folder on a random port.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.md': 'text/markdown; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * Serves `root` (default: this folder) over HTTP.
 * @param {{ root?: string, host?: string, port?: number }} [options] port 0 picks a free one
 * @returns {Promise<{ url: string, origin: string, port: number, server: import('node:http').Server, close(): Promise<void> }>}
 */
export async function serveExample({ root = HERE, host = '127.0.0.1', port = 8080 } = {}) {
  const base = resolve(root);
  const server = createServer(async (req, res) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      const { pathname } = new URL(req.url ?? '/', 'http://x');
      let path = decodeURIComponent(pathname);
      if (path.endsWith('/')) path += 'index.html';
      const file = resolve(join(base, path));
      if (file !== base && !file.startsWith(base + sep)) {
        res.writeHead(403).end('forbidden');
        return;
      }
      const info = await stat(file).catch(() => null);
      if (!info?.isFile()) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found');
        return;
      }
      const body = await readFile(file);
      res.writeHead(200, {
        'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
        'content-length': body.length,
        // always fresh: a changed sw.js is picked up on the next load
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(String(err?.message ?? err));
    }
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      ok();
    });
  });
  const actual = /** @type {import('node:net').AddressInfo} */ (server.address()).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const origin = `http://${shownHost}:${actual}`;
  return {
    url: `${origin}/`,
    origin,
    port: actual,
    server,
    close: () => new Promise((ok) => {
      server.close(() => ok());
      server.closeAllConnections();
    }),
  };
}

function arg(name) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const port = Number(arg('port') ?? process.env.PORT ?? 8080);
  const host = arg('host') ?? process.env.HOST ?? '127.0.0.1';
  serveExample({ port, host }).then(
    ({ port: p }) => {
      const local = host === '127.0.0.1' || host === 'localhost' || host === '::1';
      const origin = `http://${local ? 'localhost' : host}:${p}`;
      console.log(`Web Push example on ${origin}/`);
      console.log(`Start the gateway with CORS_ORIGINS=${origin} (e.g. CORS_ORIGINS=${origin} npm run quickstart), then open`);
      console.log(`  ${origin}/?gateway=http://localhost:3000&appId=<app id>&key=<register key>`);
      console.log('Ctrl-C stops.');
    },
    (err) => {
      console.error(`serve.mjs: ${err.message}`);
      process.exit(1);
    },
  );
}
