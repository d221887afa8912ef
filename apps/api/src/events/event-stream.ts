import type { ServerResponse } from 'node:http';
import { eventEnvelope, type EventRepository } from '@app/db';

/** Rows read per query while catching up. */
const PAGE = 200;

/**
 * One open `text/event-stream` response. Its cursor is the id of the last event
 * written; every wake-up reads "app_id = $1 AND id > cursor" from the events table,
 * so what a stream sends never depends on process memory: a wake-up (NOTIFY, the
 * fallback poll) only says "look again".
 */
export class EventStream {
  private pumping = false;
  private again = false;
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    readonly appId: string,
    private cursor: string,
    private readonly types: readonly string[] | null,
    private readonly res: ServerResponse,
    private readonly events: EventRepository,
    private readonly opts: { heartbeatMs: number; pollMs: number; onError: (err: Error) => void; onClose: (s: EventStream) => void },
  ) {
    // the heartbeat is a comment line: EventSource ignores it, proxies see traffic
    this.timers.push(setInterval(() => this.write(': ping\n\n'), opts.heartbeatMs));
    // safety net for a missed NOTIFY (listener reconnecting)
    this.timers.push(setInterval(() => this.wake(), opts.pollMs));
    res.on('close', () => this.close());
    // the client may have gone while the stream was being set up ('close' already fired)
    if (res.destroyed || !res.socket || res.socket.destroyed) queueMicrotask(() => this.close());
  }

  wake(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.pump().finally(() => {
      this.pumping = false;
      if (this.again && !this.closed) {
        this.again = false;
        this.wake();
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    if (!this.res.writableEnded) this.res.end();
    this.opts.onClose(this);
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        const rows = await this.events.after(this.appId, this.cursor, { types: this.types, limit: PAGE });
        for (const e of rows) {
          if (this.closed) return;
          const ok = this.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(eventEnvelope(e))}\n\n`);
          this.cursor = e.id;
          if (!ok) await new Promise<void>((resolve) => {
            const done = () => { this.res.off('drain', done); this.res.off('close', done); resolve(); };
            this.res.once('drain', done);
            this.res.once('close', done);
          });
        }
        if (rows.length < PAGE) return;
      }
    } catch (err) {
      this.opts.onError(err as Error);
    }
  }

  private write(chunk: string): boolean {
    if (this.closed || this.res.writableEnded) return true;
    return this.res.write(chunk);
  }
}
