import type { OutcomeRow } from '@app/db';

export type OutcomeWrite = (rows: OutcomeRow[], invalid: Array<{ deviceId: string; reason: string }>) => Promise<void>;

/**
 * Outcomes of one batch, written as the provider's answers arrive: in groups of at most
 * `size` rows, or `ms` after the first unwritten one (group commit), one write at a time.
 * A crash then resends only what was in flight or in the last unwritten group, not the
 * whole batch. A write that fails (the database is away) is retried with backoff, keeping
 * the outcomes in memory, for up to `holdMs`: an answer already received is not sent again
 * just because the ledger was briefly unreachable. Past that, drain() throws and the job
 * retries; the re-run skips every device whose outcome was written.
 */
export class OutcomeBuffer {
  readonly all: OutcomeRow[] = [];
  private rows: OutcomeRow[] = [];
  private invalid: Array<{ deviceId: string; reason: string }> = [];
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private error: Error | null = null;

  constructor(
    private readonly write: OutcomeWrite,
    private readonly opts: { size: number; ms: number; holdMs: number; onRetry?: (err: Error) => void },
  ) {}

  add(row: OutcomeRow, invalidReason?: string): void {
    this.all.push(row);
    this.rows.push(row);
    if (invalidReason !== undefined) this.invalid.push({ deviceId: row.deviceId, reason: invalidReason });
    if (this.rows.length >= this.opts.size) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.opts.ms);
  }

  /** Writes what is left and waits for every write; throws if one gave up. */
  async drain(): Promise<void> {
    this.flush();
    await this.chain;
    if (this.error) throw this.error;
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.rows.length === 0) return;
    const rows = this.rows;
    const invalid = this.invalid;
    this.rows = [];
    this.invalid = [];
    this.chain = this.chain.then(() => this.writeWithRetry(rows, invalid)).catch((err: Error) => {
      this.error ??= err;
    });
  }

  private async writeWithRetry(rows: OutcomeRow[], invalid: Array<{ deviceId: string; reason: string }>): Promise<void> {
    if (this.error) throw this.error;
    const deadline = Date.now() + this.opts.holdMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.write(rows, invalid);
        return;
      } catch (err) {
        if (Date.now() >= deadline) throw err;
        this.opts.onRetry?.(err as Error);
        const wait = Math.min(5000, 100 * 2 ** Math.min(attempt, 6));
        await new Promise((r) => setTimeout(r, Math.min(wait, Math.max(0, deadline - Date.now()))));
      }
    }
  }
}
