import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DB, type Db } from '@app/db';
import { checkDatabase, checkQueueBackend, HEALTH_TIMEOUT_MS } from '@app/observability';
import { QueueFactory } from '@app/queue';

/** PostgreSQL answers `select 1` on the API's own pool. */
@Injectable()
export class DatabaseHealthIndicator {
  private readonly check: () => Promise<void>;

  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(DB) db: Db,
  ) {
    this.check = checkDatabase(db);
  }

  isHealthy() {
    return this.health.check('database').attempt(() => this.check()).withTimeout(HEALTH_TIMEOUT_MS);
  }
}

/** The queue backend (Redis, or bullmq's PostgreSQL backend) answers through QueueFactory.ping(). */
@Injectable()
export class QueueHealthIndicator {
  private readonly check: () => Promise<void>;

  constructor(
    private readonly health: HealthIndicatorService,
    private readonly queues: QueueFactory,
  ) {
    this.check = checkQueueBackend(queues);
  }

  isHealthy() {
    return this.health.check('queue').attempt(async () => {
      await this.check();
      return { backend: this.queues.kind };
    }).withTimeout(HEALTH_TIMEOUT_MS);
  }
}
