import { applyDecorators } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiProperty, ApiResponse, DocumentBuilder, SwaggerModule, getSchemaPath, type OpenAPIObject } from '@nestjs/swagger';

/** One problem of a rejected request. */
export class FieldProblemDto {
  @ApiProperty({ description: 'Dotted path of the offending field (or header name)', example: 'targets.tokens.0.token' })
  field!: string;

  @ApiProperty({ description: 'The rule it broke: a class-validator constraint name, `unknownField`, or a domain rule such as `token`', example: 'isString' })
  rule!: string;

  @ApiProperty({ description: 'Human-readable explanation', example: 'token must be a string' })
  message!: string;
}

/** The one error shape of every failure (see ARCHITECTURE.md). */
export class ErrorResponseDto {
  @ApiProperty({ description: 'HTTP status code, repeated in the body', example: 400 })
  statusCode!: number;

  @ApiProperty({ description: 'HTTP reason phrase or a machine-readable code', example: 'Bad Request' })
  error!: string;

  @ApiProperty({ description: 'What went wrong; for validation failures every problem joined by "; "', example: 'badge: badge must be an integer number' })
  message!: string;

  @ApiProperty({ type: [FieldProblemDto], required: false, description: 'Validation failures only: one entry per field and rule' })
  details?: FieldProblemDto[];
}

const ERROR_TEXT: Record<number, string> = {
  400: 'The request is malformed or a field fails validation (details names each field and rule)',
  401: 'Missing, unknown or revoked API key',
  403: 'The key lacks the scope this route needs, or it is the bootstrap key on an app route',
  404: 'Not found (also answered for another app\'s resources)',
  409: 'Conflict with the current state (see message)',
  413: 'The request body is larger than API_BODY_LIMIT_BYTES',
  422: 'The Idempotency-Key was already used with a different request body',
};

/** Documents the error answers of a route, all in the shared error shape. */
export function ApiErrors(...codes: Array<keyof typeof ERROR_TEXT>) {
  return applyDecorators(
    ApiExtraModels(ErrorResponseDto, FieldProblemDto),
    ...codes.map((status) => ApiResponse({ status, description: ERROR_TEXT[status], schema: { $ref: getSchemaPath(ErrorResponseDto) } })),
  );
}

/** `Authorization: Bearer <api key>`: an app key (pgw_…) or the bootstrap ADMIN_API_KEY. */
export const API_KEY_AUTH = 'api-key';
export const ApiKeyAuth = () => ApiBearerAuth(API_KEY_AUTH);

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Push gateway API')
    .setDescription(
      'One API for APNs, FCM, WNS and Web Push. Authenticate with `Authorization: Bearer <key>`: the bootstrap ' +
        'ADMIN_API_KEY manages apps; app keys carry the scopes `admin`, `send` and `register`. Every error has the ' +
        'shape `{statusCode, error, message, details?}`.',
    )
    .setVersion('v1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'API key', description: 'An app key (pgw_<id>_<secret>) or the bootstrap ADMIN_API_KEY' }, API_KEY_AUTH)
    .build();
  return SwaggerModule.createDocument(app, config, { extraModels: [ErrorResponseDto, FieldProblemDto] });
}

/** Swagger UI at /docs, the document at /docs/json. */
export function setupOpenApi(app: INestApplication): OpenAPIObject {
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json', raw: ['json'], customSiteTitle: 'Push gateway API' });
  return document;
}

/** The served document as checked into docs/openapi.json: pretty-printed, newline-terminated. */
export async function renderOpenApiDocument(app: { inject: (opts: { method: 'GET'; url: string }) => PromiseLike<{ statusCode: number; body: string }> }): Promise<string> {
  const r = await app.inject({ method: 'GET', url: '/docs/json' });
  if (r.statusCode !== 200) throw new Error(`GET /docs/json answered ${r.statusCode}`);
  return `${JSON.stringify(JSON.parse(r.body), null, 2)}\n`;
}
