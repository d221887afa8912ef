import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CONFIG, type AppConfig } from '@app/common';
import { ALL_QUEUES, QueueFactory } from '@app/queue';

export const DASHBOARD_PATH = '/admin/queues';
export const DASHBOARD_REALM = 'push-gateway';

const sha = (s: string) => createHash('sha256').update(s).digest();

/**
 * The password of an `Authorization: Basic` header (any user name), or the token of
 * `Authorization: Bearer` (for scripts). Null when neither is present.
 */
export function presentedSecret(header: string | undefined): string | null {
  if (!header) return null;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? null : decoded.slice(colon + 1);
  }
  const bearer = /^Bearer\s+(\S+)$/i.exec(header);
  return bearer ? bearer[1] : null;
}

/** What the board's page may load: its own scripts, styles, images and JSON API, nothing from elsewhere. */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // the page's loading spinner and React set inline styles
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

/** A `<link>` to another host in the board's page: its stylesheet of Google Fonts (IBM Plex). */
const OUTSIDE_LINK = /<link\b[^>]*\bhref="(?:https?:)?\/\/[^"]*"[^>]*>\s*/gi;

/**
 * Bull Board's page asks fonts.googleapis.com for its IBM Plex fonts: a request to an
 * outside host from an admin page (which fails offline, and tells Google who looks at the
 * board). The link is dropped, so the page uses the system's sans-serif and monospace
 * fonts (its CSS names them as fallbacks), and the CSP forbids any other host whatever a
 * later Bull Board adds.
 */
function selfContained(reply: FastifyReply, payload: unknown): unknown {
  void reply.header('content-security-policy', DASHBOARD_CSP);
  const type = String(reply.getHeader('content-type') ?? '');
  return typeof payload === 'string' && type.startsWith('text/html') ? payload.replace(OUTSIDE_LINK, '') : payload;
}

/**
 * Bull Board at /admin/queues over every queue, behind the bootstrap admin key.
 *
 * Registered with @bull-board/fastify directly rather than @bull-board/nestjs: the Nest
 * module protects the board with a Nest middleware (`middleware` option), which on
 * Fastify goes through middie and path matching we do not control, while a Fastify
 * onRequest hook in the board's own encapsulated plugin covers every one of its routes
 * (page, static assets, JSON API) by construction. The queues come from the injected
 * QueueFactory, so the board works on both backends.
 */
@Injectable()
export class QueueDashboard implements OnModuleInit {
  private readonly keyHash: Buffer;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly queues: QueueFactory,
    @Inject(CONFIG) config: AppConfig,
  ) {
    this.keyHash = sha(config.bootstrapAdminKey);
  }

  onModuleInit(): void {
    const serverAdapter = new FastifyAdapter();
    serverAdapter.setBasePath(DASHBOARD_PATH);
    createBullBoard({
      queues: ALL_QUEUES.map((name) => new BullMQAdapter(this.queues.queue(name))),
      // @bull-board/fastify 9.10.1 carries its own copy of @bull-board/api 9.10.1: the same
      // interface, declared twice, so TypeScript needs to be told they match.
      serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
      options: { uiConfig: { boardTitle: 'push-gateway' } },
    });
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    void fastify.register(
      async (scope) => {
        scope.addHook('onRequest', async (req, reply) => this.authenticate(req, reply));
        scope.addHook('onSend', async (_req, reply, payload) => selfContained(reply, payload));
        await scope.register(serverAdapter.registerPlugin());
      },
      { prefix: DASHBOARD_PATH },
    );
  }

  private async authenticate(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const secret = presentedSecret(req.headers.authorization);
    if (secret !== null && timingSafeEqual(sha(secret), this.keyHash)) return;
    await reply
      .status(401)
      .header('www-authenticate', `Basic realm="${DASHBOARD_REALM}"`)
      .send({ statusCode: 401, error: 'Unauthorized', message: 'the queue dashboard needs the bootstrap admin key as the Basic auth password' });
  }
}
