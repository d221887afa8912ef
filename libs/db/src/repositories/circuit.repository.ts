import { sql } from 'kysely';
import type { Db } from '../database';

export interface CircuitKey {
  key: string;
  appId: string;
  provider: string;
  credentialId: string;
  /** The push-service endpoint (host) the circuit guards. */
  endpoint: string;
}

export interface CircuitState {
  state: 'open' | 'closed';
  reason: string | null;
  openedAt: Date | null;
}

/**
 * Circuit breaker state per (provider, credential, endpoint), shared by every worker
 * process. Rows change only on transitions and probes (a few statements per second at
 * most during an outage); each worker caches reads briefly. Transitions are conditional
 * updates, so exactly one worker reports each one.
 */
export class CircuitRepository {
  constructor(private readonly db: Db) {}

  async get(key: string): Promise<CircuitState> {
    const r = await this.db.selectFrom('provider_circuits').select(['state', 'reason', 'opened_at']).where('key', '=', key).executeTakeFirst();
    return r ? { state: r.state, reason: r.reason, openedAt: r.opened_at } : { state: 'closed', reason: null, openedAt: null };
  }

  /** Opens the circuit; true when this call did (it was closed). The first probe is due after `probeMs`. */
  async open(k: CircuitKey, reason: string, probeMs: number): Promise<boolean> {
    const r = await sql<{ key: string }>`
      INSERT INTO provider_circuits (key, app_id, provider, credential_id, endpoint, state, reason, opened_at, probe_at)
      VALUES (${k.key}, ${k.appId}, ${k.provider}, ${k.credentialId}, ${k.endpoint}, 'open', ${reason}, now(), now() + ${probeMs} * interval '1 millisecond')
      ON CONFLICT (key) DO UPDATE SET state = 'open', reason = excluded.reason, opened_at = now(), probe_at = excluded.probe_at, updated_at = now()
      WHERE provider_circuits.state <> 'open'
      RETURNING key`.execute(this.db);
    return r.rows.length > 0;
  }

  /** The right to send one probe request now, across every worker; the next is due after `probeMs`. */
  async takeProbe(key: string, probeMs: number): Promise<boolean> {
    const r = await sql<{ key: string }>`
      UPDATE provider_circuits SET probe_at = now() + ${probeMs} * interval '1 millisecond', updated_at = now()
      WHERE key = ${key} AND state = 'open' AND probe_at <= now() RETURNING key`.execute(this.db);
    return r.rows.length > 0;
  }

  /** Closes the circuit; true when this call did. */
  async close(key: string): Promise<boolean> {
    const r = await this.db.updateTable('provider_circuits').set({ state: 'closed', updated_at: new Date() })
      .where('key', '=', key).where('state', '=', 'open').returning('key').execute();
    return r.length > 0;
  }

  /** Every open circuit (readiness details, metrics). */
  async openCircuits(): Promise<Array<{ key: string; appId: string; provider: string; endpoint: string; reason: string | null; openedAt: Date | null }>> {
    const rows = await this.db.selectFrom('provider_circuits').select(['key', 'app_id', 'provider', 'endpoint', 'reason', 'opened_at']).where('state', '=', 'open').execute();
    return rows.map((r) => ({ key: r.key, appId: r.app_id, provider: r.provider, endpoint: r.endpoint, reason: r.reason, openedAt: r.opened_at }));
  }
}
