import { createHash } from 'node:crypto';
import { ConflictException, Inject, Injectable, NotFoundException, ServiceUnavailableException, UnprocessableEntityException } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { CONFIG, type AppConfig } from '@app/common';
import { DB, CredentialRepository, IdempotencyRepository, NotificationRepository, type Db } from '@app/db';
import { PROVIDERS_MAP, type ProviderName, type ProviderMap } from '@app/providers';
import { InjectQueue } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { QueueName, type FanoutJobData } from '@app/queue';
import { AcceptWriter, EnqueueFailed, insertNotifications, type NotificationQueues } from './accept-writer';
import { flattenErrors, validationException, validationOptions, type FieldProblem } from '../core/validation';
import { buildNotification, type BuiltNotification } from './notification-builder';
import { SendNotificationDto } from './notifications.dto';

export interface Accepted {
  id: string;
  status: 'queued';
  sendAt: string | null;
  acceptedAt: string;
}

const CONFIGURED_CACHE_MS = 10_000;

/**
 * Accepting a send: validate, build the canonical notification, write its row (with
 * the Idempotency-Key record in the same transaction when there is one), then enqueue
 * its job (fan-out, or direct for a few explicit targets). Rows and jobs of concurrent
 * requests are written together (AcceptWriter). If the enqueue fails the row is removed
 * again, so a rejected request leaves nothing behind. No provider I/O and no audience
 * expansion happen here.
 */
@Injectable()
export class NotificationsService {
  private readonly configured = new Map<string, { at: number; set: Set<ProviderName> }>();
  private readonly writer: AcceptWriter;
  private readonly queues: NotificationQueues;

  constructor(
    @Inject(CONFIG) private readonly config: AppConfig,
    @Inject(DB) private readonly db: Db,
    @Inject(PROVIDERS_MAP) private readonly providers: ProviderMap,
    private readonly credentials: CredentialRepository,
    private readonly notifications: NotificationRepository,
    private readonly idempotency: IdempotencyRepository,
    @InjectQueue(QueueName.Fanout) fanout: Queue<FanoutJobData>,
    @InjectQueue(QueueName.Direct) direct: Queue<FanoutJobData>,
  ) {
    this.queues = { [QueueName.Fanout]: fanout, [QueueName.Direct]: direct };
    this.writer = new AcceptWriter(db, this.queues, config.directMaxTargets);
  }

  /** Providers the app has credentials for: the services a notification can reach. */
  private async configuredProviders(appId: string): Promise<Set<ProviderName>> {
    const hit = this.configured.get(appId);
    if (hit && Date.now() - hit.at < CONFIGURED_CACHE_MS) return hit.set;
    const set = new Set<ProviderName>();
    for (const c of await this.credentials.list(appId)) set.add(c.provider as ProviderName);
    if (this.configured.size > 10_000) this.configured.clear();
    this.configured.set(appId, { at: Date.now(), set });
    return set;
  }

  private requestHash(body: unknown): string {
    return createHash('sha256').update(JSON.stringify(body)).digest('hex');
  }

  /** Replays the first answer for a repeated Idempotency-Key; 422 when the body differs. */
  private async replay(appId: string, key: string, hash: string): Promise<{ status: number; body: unknown } | null> {
    const prior = await this.idempotency.find(appId, key, this.config.idempotencyTtlHours);
    if (!prior) return null;
    if (prior.request_hash !== hash) throw new UnprocessableEntityException('Idempotency-Key was already used with a different request body');
    return { status: prior.status_code, body: prior.response };
  }

  async send(appId: string, dto: SendNotificationDto, idemKey?: string): Promise<{ status: number; body: unknown }> {
    const hash = idemKey ? this.requestHash(dto) : '';
    if (idemKey) {
      const r = await this.replay(appId, idemKey, hash);
      if (r) return r;
    }
    const { built, problems } = buildNotification(appId, dto, this.providers, await this.configuredProviders(appId), this.config.maxTargetsPerRequest);
    if (!built) throw validationException(problems);
    const [accepted] = await this.persistAndEnqueue(appId, [built], idemKey ? { key: idemKey, hash, wrap: (a) => a[0] } : undefined);
    return { status: 202, body: accepted };
  }

  async sendBatch(appId: string, items: unknown[], idemKey?: string): Promise<{ status: number; body: unknown }> {
    const hash = this.requestHash(items);
    const key = idemKey ? `batch:${idemKey}` : undefined;
    if (key) {
      const r = await this.replay(appId, key, hash);
      if (r) return r;
    }
    const configured = await this.configuredProviders(appId);
    const results: Array<Record<string, unknown>> = new Array(items.length);
    const valid: Array<{ index: number; built: BuiltNotification }> = [];
    for (let i = 0; i < items.length; i++) {
      const problems = await this.validateItem(items[i]);
      if (problems.length === 0) {
        const dto = plainToInstance(SendNotificationDto, items[i]);
        const out = buildNotification(appId, dto, this.providers, configured, this.config.maxTargetsPerRequest);
        if (out.built) {
          valid.push({ index: i, built: out.built });
          continue;
        }
        problems.push(...out.problems);
      }
      results[i] = { index: i, statusCode: 400, error: 'Bad Request', message: problems.map((p) => `${p.field}: ${p.message}`).join('; '), details: problems };
    }
    const accepted = await this.persistAndEnqueue(appId, valid.map((v) => v.built));
    valid.forEach((v, j) => (results[v.index] = { index: v.index, statusCode: 202, ...accepted[j] }));
    const body = { accepted: valid.length, rejected: items.length - valid.length, results };
    if (key) await this.idempotency.save(appId, key, hash, 200, body);
    return { status: 200, body };
  }

  private async validateItem(item: unknown): Promise<FieldProblem[]> {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      return [{ field: 'notification', rule: 'isObject', message: 'each notification must be an object' }];
    }
    const errors = await validate(plainToInstance(SendNotificationDto, item), validationOptions);
    return flattenErrors(errors);
  }

  private async persistAndEnqueue(
    appId: string,
    list: BuiltNotification[],
    idem?: { key: string; hash: string; wrap: (a: Accepted[]) => unknown },
  ): Promise<Accepted[]> {
    if (list.length === 0) return [];
    const accepted: Accepted[] = list.map((b) => ({
      id: b.notification.id,
      status: 'queued',
      sendAt: b.sendAt?.toISOString() ?? null,
      acceptedAt: new Date(b.notification.acceptedAt).toISOString(),
    }));
    if (!idem) {
      await this.writer.write(appId, list).catch((err) => {
        throw err instanceof EnqueueFailed ? this.queueDown(err) : err;
      });
      return accepted;
    }
    // With an Idempotency-Key the row and the key are written in one transaction.
    const raced = await this.db.transaction().execute(async (trx) => {
      await insertNotifications(trx, [{ appId, list }]);
      return !(await new IdempotencyRepository(trx).save(appId, idem.key, idem.hash, 202, idem.wrap(accepted) as object));
    }).catch((err) => {
      if (err && (err as { code?: string }).code === '23505') return true;
      throw err;
    });
    if (raced) {
      // a concurrent request with the same key won: its answer is replayed
      const r = await this.replay(appId, idem.key, idem.hash);
      if (r) throw new ConflictException({ statusCode: 409, error: 'Conflict', message: 'a request with this Idempotency-Key is being processed; retry', replay: r.body });
    }
    try {
      await this.writer.enqueue([{ appId, list }]);
    } catch (err) {
      const ids = list.map((b) => b.notification.id);
      await this.db.deleteFrom('notifications').where('app_id', '=', appId).where('id', 'in', ids).execute();
      await this.db.deleteFrom('idempotency_keys').where('app_id', '=', appId).where('key', '=', idem.key).execute();
      throw this.queueDown(err as Error);
    }
    return accepted;
  }

  private queueDown(err: Error): ServiceUnavailableException {
    return new ServiceUnavailableException(`queue backend unavailable, nothing was accepted: ${err.message}`);
  }

  async get(appId: string, id: string) {
    const n = await this.notifications.get(appId, id);
    if (!n) throw new NotFoundException('notification not found');
    return n;
  }

  /** Cancels a scheduled (or still queued) notification; 409 once it has started. */
  async cancel(appId: string, id: string) {
    if (!(await this.notifications.cancel(appId, id))) {
      const n = await this.notifications.get(appId, id);
      if (!n) throw new NotFoundException('notification not found');
      throw new ConflictException(`notification is ${n.status}; only a queued notification can be cancelled`);
    }
    for (const queue of Object.values(this.queues)) {
      const job = await queue.getJob(id);
      await job?.remove().catch(() => undefined); // if it is running right now, the fan-out sees "cancelled" and stops
    }
    return this.get(appId, id);
  }
}
