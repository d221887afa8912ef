import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';

/**
 * Client-supplied URLs (WNS channel URIs, Web Push endpoints, webhook URLs) are
 * checked before the server ever connects to them: https only, no userinfo, no IP
 * literal, host on an allowlist ("*.notify.windows.com" matches subdomains only),
 * default port. When the sandbox is enabled, "localhost" (any port) is allowed too,
 * which is the only way a loopback address is ever reachable.
 */
export class UrlRejected extends Error {}

export interface UrlGuardOptions {
  allowlist: string[];
  sandboxEnabled: boolean;
}

function hostMatches(host: string, pattern: string): boolean {
  if (pattern.startsWith('*.')) {
    const suffix = pattern.slice(1); // ".notify.windows.com"
    return host.endsWith(suffix) && host.length > suffix.length;
  }
  return host === pattern;
}

export function checkUrl(raw: unknown, opts: UrlGuardOptions): URL {
  if (typeof raw !== 'string' || raw.length === 0) throw new UrlRejected('must be a URL string');
  if (raw.length > 2048) throw new UrlRejected('must be at most 2048 characters');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UrlRejected('must be an absolute URL');
  }
  if (url.protocol !== 'https:') throw new UrlRejected('must use https');
  if (url.username || url.password || raw.slice(0, raw.indexOf(url.host)).includes('@')) {
    throw new UrlRejected('must not contain userinfo');
  }
  const host = url.hostname.toLowerCase();
  if (isIP(host.replace(/^\[|\]$/g, '')) !== 0) throw new UrlRejected('must not use an IP address as host');
  if (host.endsWith('.')) throw new UrlRejected('host must not end with a dot');
  if (opts.sandboxEnabled && host === 'localhost') return url;
  if (url.port !== '' && url.port !== '443') throw new UrlRejected('must use the default https port');
  if (!opts.allowlist.some((p) => hostMatches(host, p))) {
    throw new UrlRejected(`host ${host} is not on the allowlist`);
  }
  return url;
}

/** True for addresses a server must never dial on a client's behalf. */
export function isPrivateAddress(address: string): boolean {
  if (isIP(address) === 6) {
    const a = address.toLowerCase();
    if (a === '::1' || a === '::') return true;
    if (a.startsWith('fe80') || a.startsWith('fc') || a.startsWith('fd')) return true;
    const mapped = a.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/);
    return mapped ? isPrivateAddress(mapped[1]) : false;
  }
  const [a, b] = address.split('.').map(Number);
  return (
    a === 10 ||
    a === 127 ||
    a === 0 ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127) ||
    a >= 224
  );
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http(s) agents that refuses private, loopback and link-local
 * answers, so a public name that resolves to 169.254.169.254 (DNS rebinding) is
 * still refused at connect time. With the sandbox enabled, loopback is allowed.
 */
export function guardedLookup(sandboxEnabled: boolean) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as LookupAddress[];
      const allowed = list.filter(
        (a) => !isPrivateAddress(a.address) || (sandboxEnabled && (a.address === '127.0.0.1' || a.address === '::1')),
      );
      if (allowed.length === 0) {
        const e: NodeJS.ErrnoException = new Error(`refusing to connect to ${hostname}: private address`);
        e.code = 'EPRIVATEADDR';
        return callback(e, []);
      }
      if (options.all) return callback(null, allowed);
      callback(null, allowed[0].address, allowed[0].family);
    });
  };
}
