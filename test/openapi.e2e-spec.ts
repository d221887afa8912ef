import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApi } from '../apps/api/src/api.bootstrap';
import { renderOpenApiDocument } from '../apps/api/src/ops/openapi';
import { OPENAPI_FILE, repoRoot } from '../scripts/openapi';
import { removeTestData, testConfig } from './support/test-env';

describe('OpenAPI document', () => {
  let app: NestFastifyApplication;
  let generated: string;
  const config = testConfig();

  before(async () => {
    app = await createApi(config, { ops: { metricsToken: null, workerOpsPort: null, workerOpsHost: '127.0.0.1' } });
    generated = await renderOpenApiDocument(app);
  });
  after(async () => {
    await app?.close();
    await removeTestData(config);
  });

  it(`matches the checked-in ${OPENAPI_FILE}`, () => {
    const file = join(repoRoot(__dirname), OPENAPI_FILE);
    let checkedIn = '';
    try {
      checkedIn = readFileSync(file, 'utf8');
    } catch {
      /* reported below */
    }
    // Compare parsed first for a readable diff, then byte for byte.
    const hint = `${OPENAPI_FILE} is out of date with the controllers and DTOs: run \`npm run openapi\` and commit the result`;
    assert.ok(checkedIn, `${OPENAPI_FILE} is missing: run \`npm run openapi\``);
    assert.deepEqual(JSON.parse(checkedIn), JSON.parse(generated), hint);
    assert.equal(checkedIn, generated, hint);
  });

  it('documents the bearer scheme, the error shape and the error answers', () => {
    const doc = JSON.parse(generated) as {
      components: { securitySchemes: Record<string, { type: string; scheme: string }>; schemas: Record<string, { properties: Record<string, unknown> }> };
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown>; requestBody?: unknown }>>;
    };
    const scheme = doc.components.securitySchemes['api-key'];
    assert.deepEqual([scheme.type, scheme.scheme], ['http', 'bearer']);
    assert.deepEqual(Object.keys(doc.components.schemas.ErrorResponseDto.properties).sort(), ['details', 'error', 'message', 'statusCode']);
    assert.deepEqual(Object.keys(doc.components.schemas.FieldProblemDto.properties).sort(), ['field', 'message', 'rule']);
    const send = doc.paths['/v1/notifications'].post;
    assert.ok(send.security?.length, 'send needs the bearer key');
    for (const code of ['202', '400', '401', '403', '409', '413', '422']) assert.ok(send.responses[code], `POST /v1/notifications documents ${code}`);
    assert.ok(doc.components.schemas.SendNotificationDto.properties.title);
    assert.ok(!doc.paths['/metrics'], '/metrics is not part of the API document');
  });

  it('serves Swagger UI at /docs', async () => {
    const r = await app.inject({ method: 'GET', url: '/docs' });
    assert.equal(r.statusCode, 200);
    assert.match(r.body, /swagger-ui/i);
  });
});
