import { UnrecoverableError, type Job } from 'bullmq';
import type { LoggerService } from '@nestjs/common';
import type { WebhookRepository } from '@app/db';
import type { WebhookJobData } from '@app/queue';
import type { EventWriter } from '../events/event-writer';
import type { WebhookSender } from './webhook.sender';

export interface WebhookDeps {
  logger: LoggerService;
  webhooks: WebhookRepository;
  sender: WebhookSender;
  writer: EventWriter;
  maxFailures: number;
}

/**
 * Delivers one event to one endpoint. A non-2xx answer, a timeout or a refused
 * connection throws, and BullMQ retries the job with exponential backoff (attempts and
 * delay set when the job was added). Every failed attempt counts towards the endpoint's
 * consecutive failures; a success resets them. At WEBHOOK_MAX_FAILURES the endpoint is
 * disabled, a webhook.disabled event records why, and its queued deliveries are
 * dropped as they come up.
 */
export class WebhookProcessor {
  constructor(private readonly d: WebhookDeps) {}

  async process(job: Job<WebhookJobData>): Promise<{ status: number } | { skipped: string }> {
    const { appId, webhookId, deliveryId, event } = job.data;
    const target = await this.d.webhooks.target(appId, webhookId);
    if (!target) return { skipped: 'webhook deleted' };
    if (!target.enabled) return { skipped: 'webhook disabled' };
    const body = JSON.stringify({ id: event.id, type: event.type, appId, createdAt: event.createdAt, data: event.data });
    const r = await this.d.sender.send(target, body, { deliveryId, eventType: event.type });
    if (r.ok) {
      await this.d.webhooks.recordSuccess(appId, webhookId);
      return { status: r.status };
    }
    const f = await this.d.webhooks.recordFailure(appId, webhookId, r.error, this.d.maxFailures);
    if (!f) throw new UnrecoverableError(`webhook ${webhookId} was disabled or deleted meanwhile (${r.error})`);
    if (f.disabledNow) {
      this.d.logger.warn({ msg: 'webhook disabled', appId, webhookId, failures: f.failures, error: r.error });
      this.d.writer.add({
        appId,
        type: 'webhook.disabled',
        payload: { webhookId, url: target.url, consecutiveFailures: f.failures, lastError: r.error, disabledAt: new Date().toISOString() },
      });
      throw new UnrecoverableError(`webhook ${webhookId} disabled after ${f.failures} consecutive failures: ${r.error}`);
    }
    throw new Error(`webhook delivery failed: ${r.error}`);
  }
}
