/**
 * Writes docs/openapi.json from the code (`npm run openapi`). The document is generated
 * from the controllers and DTOs by @nestjs/swagger; test/openapi.e2e-spec.ts fails when
 * the checked-in file differs from what the code produces.
 *
 * Needs no running service: the API is built (not listened on) with placeholder
 * settings, and nothing in the document depends on them.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfig } from '@app/common';
import { createApi } from '../apps/api/src/api.bootstrap';
import { renderOpenApiDocument } from '../apps/api/src/ops/openapi';

/** The repository root: the nearest folder above this file with a package.json (works from dist/ and .build/*). */
export function repoRoot(from = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}

export const OPENAPI_FILE = 'docs/openapi.json';

async function main(): Promise<void> {
  const config = loadConfig({
    DATABASE_URL: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
    ADMIN_API_KEY: 'openapi-generation-placeholder-key',
    MASTER_KEY: '0'.repeat(64),
    LOG_LEVEL: 'error',
  });
  const app = await createApi(config, { ops: { metricsToken: null, workerOpsPort: null, workerOpsHost: '127.0.0.1' } });
  try {
    const text = await renderOpenApiDocument(app);
    const file = join(repoRoot(), OPENAPI_FILE);
    writeFileSync(file, text);
    console.log(`wrote ${file}`);
  } finally {
    await app.close();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
