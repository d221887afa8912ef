/** Shortens a device token or key for logs: enough to correlate, never enough to use. */
export function redactToken(token: string | null | undefined): string {
  if (!token) return '';
  if (token.length <= 12) return '***';
  return `${token.slice(0, 6)}…${token.slice(-4)}`;
}
