import type { Receipt } from './receipt-store';

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** The page a person opens to watch notifications arrive on simulated devices. */
export function renderReceiptsPage(receipts: Receipt[], stats: { delivered: Record<string, number> }): string {
  const rows = receipts
    .map((r) => {
      const payload = typeof r.payload === 'string' ? r.payload : JSON.stringify(r.payload, null, 1);
      return `<tr><td>${new Date(r.at).toISOString()}</td><td>${r.provider}</td><td><code>${esc(r.device.slice(0, 24))}…</code></td><td><pre>${esc(payload.slice(0, 2000))}</pre></td></tr>`;
    })
    .join('\n');
  const totals = Object.entries(stats.delivered).map(([p, n]) => `${p}: <b>${n}</b>`).join(' · ');
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="3">
<title>Push gateway sandbox</title>
<style>body{font:14px system-ui;margin:2em}table{border-collapse:collapse;width:100%}td,th{border:1px solid #ddd;padding:4px;vertical-align:top}pre{margin:0;white-space:pre-wrap}</style>
</head><body><h1>Sandbox: what the simulated devices received</h1><p>${totals}</p>
<table><tr><th>time</th><th>provider</th><th>device</th><th>payload</th></tr>${rows}</table></body></html>`;
}
