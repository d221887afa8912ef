import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants as h2, type Http2ServerRequest, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { ProviderName } from '@app/providers';
import type { ActiveFault, FaultPlan, ResetMode } from './fault-plan';
import type { ReceiptStore } from './receipt-store';
import type { SandboxTls } from './sandbox-ca';
import type { TrafficMeter } from './traffic-meter';

export interface StandInContext {
  store: ReceiptStore;
  tls: SandboxTls;
  /** Host name the stand-ins are reached at ("localhost"). */
  host: string;
  /** Service-wide faults (outages, hangs, resets); a stand-in without one has its own, empty. */
  faults?: FaultPlan;
  /** Push requests per second and credential, in flight, answered; a stand-in without one has its own. */
  traffic?: TrafficMeter;
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

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A service-wide fault, the same way in every stand-in: `delay` holds the request, then it
 * goes on (false); `hang` leaves it open and unanswered until the client gives up, `reset`
 * drops it (`drop`), and `status` answers in the service's own terms (`answer`): true,
 * the request is handled.
 */
export async function applyFault(
  fault: ActiveFault | null,
  drop: (mode: ResetMode) => void,
  answer: (status: number, fault: ActiveFault) => Promise<void> | void,
): Promise<boolean> {
  if (!fault) return false;
  switch (fault.kind) {
    case 'delay':
      await sleep(fault.delayMs ?? 0);
      return false;
    case 'hang':
      return true;
    case 'reset':
      drop(fault.reset ?? 'tcp');
      return true;
    case 'status':
      await answer(fault.status ?? 503, fault);
      return true;
  }
}

/**
 * Resets a connection: the peer reads ECONNRESET, as when a load balancer or the service
 * drops it. A TLS socket cannot send the RST itself (its handle refuses), the TCP socket
 * under it can.
 */
export function resetSocket(socket: Socket | null | undefined): void {
  if (!socket || socket.destroyed) return;
  const tcp = (socket as Socket & { _parent?: Socket | null })._parent ?? socket;
  try {
    tcp.resetAndDestroy();
  } catch {
    // already closing, or a handle without reset(): a plain close is the next best thing
  }
  socket.destroy();
}

/**
 * Drops one request the way `mode` says, in the protocol it came over: on HTTP/2 a
 * RST_STREAM (INTERNAL_ERROR) of its stream, or a GOAWAY (INTERNAL_ERROR) and the end of
 * the connection; on HTTP/1.1, which has no streams, and for `tcp`, a TCP reset.
 */
export function dropRequest(req: Http2ServerRequest | IncomingMessage, mode: ResetMode): void {
  const stream = (req as Http2ServerRequest).stream as ServerHttp2Stream | undefined;
  if (stream) return dropStream(stream, mode);
  resetSocket(req.socket);
}

export function dropStream(stream: ServerHttp2Stream, mode: ResetMode): void {
  const session = stream.session;
  if (mode === 'stream' || !session) {
    if (!stream.destroyed) stream.close(h2.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  if (mode === 'goaway') {
    if (!session.destroyed) {
      session.goaway(h2.NGHTTP2_INTERNAL_ERROR, 0);
      // after the GOAWAY frame is written: then the connection ends
      setImmediate(() => session.destroy());
    }
    return;
  }
  resetSocket(session.socket as unknown as Socket);
}
