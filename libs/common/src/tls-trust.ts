import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';

const contexts = new Map<string, SecureContext>();

/**
 * TLS options that trust the system roots plus one extra CA (the sandbox's, or a
 * corporate proxy's): `{}` when there is none. One SecureContext per CA for the whole
 * process. Passing `ca: [...rootCertificates, extra]` to an https.Agent instead costs
 * on every request — the agent folds its `ca` option (about 150 certificates) into the
 * pool key of each request, and each new socket parses them again — which measured 3 ms
 * of CPU per request in the Web Push and WNS benchmarks (BENCHMARKS.md).
 */
export function trustOptions(extraCa: string | null | undefined): { secureContext?: SecureContext } {
  if (!extraCa) return {};
  let ctx = contexts.get(extraCa);
  if (!ctx) {
    ctx = createSecureContext({ ca: [...rootCertificates, extraCa] });
    contexts.set(extraCa, ctx);
  }
  return { secureContext: ctx };
}
