import { createHmac } from 'node:crypto';

/** Header names of a webhook delivery. */
export const WebhookHeaders = Object.freeze({
  Signature: 'x-gateway-signature',
  Event: 'x-gateway-event',
  Delivery: 'x-gateway-delivery',
});

/**
 * HMAC-SHA256 over "<unix seconds>.<raw body>" with the endpoint's secret (the whole
 * "whsec_…" string, as UTF-8), hex encoded. Sent as `X-Gateway-Signature: t=<ts>,v1=<hex>`.
 * The timestamp inside the signed text lets receivers reject replays (docs/webhooks-events.md).
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export function signatureHeader(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${signWebhook(secret, timestamp, body)}`;
}
