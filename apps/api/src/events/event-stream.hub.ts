import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { Client } from 'pg';
import { CONFIG, createLogger, type AppConfig } from '@app/common';
import { EventRepository } from '@app/db';
import { EventStream } from './event-stream';

/** The channel the events table's trigger notifies (migration 0002), payload "<schema>:<app id>". */
export const EVENTS_CHANNEL = 'pgw_events';
const RECONNECT_MS = 1000;

/**
 * The API process's open event streams and its one LISTEN connection. A NOTIFY for an
 * app wakes that app's streams, which then read the table; if the listener drops,
 * every stream is woken once it is back (and each stream polls every EVENTS_POLL_MS
 * anyway). Any API process serves any client: nothing lives only in memory here but
 * the list of sockets.
 */
@Injectable()
export class EventStreamHub implements BeforeApplicationShutdown {
  private readonly logger = createLogger('events');
  private readonly streams = new Map<string, Set<EventStream>>();
  private listener: Client | null = null;
  private connecting: Promise<void> | null = null;
  private stopped = false;

  constructor(
    @Inject(CONFIG) private readonly config: AppConfig,
    private readonly events: EventRepository,
  ) {}

  /** Starts streaming the app's events after `cursor` to an already-open response. */
  async open(appId: string, cursor: string, types: readonly string[] | null, res: ServerResponse): Promise<void> {
    await this.ensureListening().catch((err: Error) => this.logger.warn({ msg: 'events listener unavailable; polling', error: err.message }));
    const stream = new EventStream(appId, cursor, types, res, this.events, {
      heartbeatMs: this.config.events.heartbeatSeconds * 1000,
      pollMs: this.config.events.pollMs,
      onError: (err) => this.logger.warn({ msg: 'event stream read failed', appId, error: err.message }),
      onClose: (s) => {
        const set = this.streams.get(s.appId);
        set?.delete(s);
        if (set?.size === 0) this.streams.delete(s.appId);
      },
    });
    let set = this.streams.get(appId);
    if (!set) this.streams.set(appId, (set = new Set()));
    set.add(stream);
    stream.wake();
  }

  get openStreams(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.size;
    return n;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const set of [...this.streams.values()]) for (const s of [...set]) s.close();
    const l = this.listener;
    this.listener = null;
    await l?.end().catch(() => undefined);
  }

  private ensureListening(): Promise<void> {
    if (this.listener || this.stopped) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.config.databaseUrl, connectionTimeoutMillis: 5000 });
    const schema = this.config.databaseSchema.toLowerCase();
    client.on('notification', (msg) => {
      const sep = msg.payload?.indexOf(':') ?? -1;
      if (msg.channel !== EVENTS_CHANNEL || sep < 0 || !msg.payload) return;
      if (msg.payload.slice(0, sep).toLowerCase() !== schema) return;
      for (const s of this.streams.get(msg.payload.slice(sep + 1)) ?? []) s.wake();
    });
    const lost = (err?: Error) => {
      if (this.listener !== client) return;
      this.listener = null;
      client.removeAllListeners('end');
      void client.end().catch(() => undefined);
      if (this.stopped) return;
      this.logger.warn({ msg: 'events listener lost; reconnecting', error: err?.message });
      setTimeout(() => {
        if (this.streams.size === 0) return; // reconnects lazily with the next stream
        void this.ensureListening().then(() => this.wakeAll(), () => undefined);
      }, RECONNECT_MS).unref();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    await client.connect();
    await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    if (this.stopped) {
      await client.end();
      return;
    }
    this.listener = client;
  }

  private wakeAll(): void {
    for (const set of this.streams.values()) for (const s of set) s.wake();
  }
}
