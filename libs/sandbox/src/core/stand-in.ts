import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProviderName } from '@app/providers';
import type { ReceiptStore } from './receipt-store';
import type { SandboxTls } from './sandbox-ca';

export interface StandInContext {
  store: ReceiptStore;
  tls: SandboxTls;
  /** Host name the stand-ins are reached at ("localhost"). */
  host: string;
}

/** Control-plane request, already parsed as JSON. */
export interface ControlRequest {
  method: string;
  /** Path below "/<provider>/", e.g. "subscriptions". */
  path: string;
  query: URLSearchParams;
  body: unknown;
  raw: IncomingMessage;
}

export type ControlAnswer = { status: number; body: unknown } | null;

/**
 * A local stand-in for one push service, speaking its real protocol on its own port.
 * Its control routes (minting keys, subscriptions, channels…) are mounted on the
 * sandbox's control server under "/<provider>/".
 */
export interface StandIn {
  readonly provider: ProviderName;
  listen(port: number): Promise<number>;
  /** Base URL of the service (what a credential or token points at). */
  baseUrl(): string;
  control(req: ControlRequest): Promise<ControlAnswer>;
  close(): Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
