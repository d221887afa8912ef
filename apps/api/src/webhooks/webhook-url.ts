import { checkUrl, UrlRejected } from '@app/common';

/** Name suffixes that only resolve inside a network (RFC 6761, RFC 6762, RFC 8375, common private zones). */
const INTERNAL_SUFFIXES = ['.localhost', '.local', '.internal', '.intranet', '.corp', '.lan', '.home', '.home.arpa', '.localdomain'];

/**
 * Webhook URLs are client-supplied: checkUrl's rules (https, no userinfo, no IP
 * literal, default port, `localhost` only with the sandbox enabled) plus a host rule:
 * - WEBHOOK_URL_ALLOWLIST set: the host must match it (same patterns as the provider
 *   allowlists, "*.example.com" for subdomains);
 * - unset: any public DNS name, never a single-label name ("metadata", "redis") nor
 *   one under an internal-only suffix (.internal, .local, …).
 * The name could still resolve to a private address: the worker's guardedLookup
 * refuses that at connect time.
 */
export function checkWebhookUrl(raw: unknown, opts: { allowlist: string[] | null; sandboxEnabled: boolean }): URL {
  if (opts.allowlist) return checkUrl(raw, { allowlist: opts.allowlist, sandboxEnabled: opts.sandboxEnabled });
  let host = '';
  try {
    host = typeof raw === 'string' ? new URL(raw).hostname.toLowerCase() : '';
  } catch {
    /* checkUrl reports it */
  }
  const sandboxLocalhost = opts.sandboxEnabled && host === 'localhost';
  if (host && !sandboxLocalhost && !host.startsWith('[') && !/^[\d.]+$/.test(host)) {
    if (host === 'localhost' || INTERNAL_SUFFIXES.some((s) => host.endsWith(s))) throw new UrlRejected(`host ${host} is an internal name`);
    if (!host.includes('.')) throw new UrlRejected(`host ${host} must be a fully qualified public name`);
  }
  // the host itself is the allowlist: checkUrl applies every other rule
  return checkUrl(raw, { allowlist: host ? [host] : [], sandboxEnabled: opts.sandboxEnabled });
}
