import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AppConfig } from '@app/common';
import type { Db } from '@app/db';
import { createApi } from '../../apps/api/src/api.bootstrap';
import { startWorker, type RunningWorker } from '../../apps/worker/src/worker.bootstrap';
import { startSandbox, type RunningSandbox } from '@app/sandbox';
import { sandboxEnv as sharedSandboxEnv } from '../../scripts/lib/sandbox-env';
import { TEST_ADMIN_KEY, testConfig, testDatabase } from './test-env';

export const SANDBOX_DIR = join(__dirname, '..', '..', '..', '.data', 'sandbox-test');

/** Environment that points the production provider clients at a running sandbox. */
export function sandboxEnv(sb: RunningSandbox): Record<string, string> {
  return sharedSandboxEnv(sb);
}

export interface Stack {
  config: AppConfig;
  db: Db;
  sandbox: RunningSandbox;
  api: NestFastifyApplication;
  apiUrl: string;
  worker: RunningWorker;
  /** Stops the worker part gracefully (active jobs finish; queued ones stay queued). */
  stopWorker(): Promise<void>;
  /** Starts a fresh worker part (a new process, as far as the queues can tell). */
  startWorker(): Promise<void>;
  close(): Promise<void>;
}

/**
 * api + worker + sandbox in one process, on their own schema and queue prefix. What it
 * started is stopped, and its schemas and Redis keys removed, by close(), and also when it
 * fails halfway (a suite whose before() throws still leaves nothing behind).
 */
export async function startStack(backend: 'redis' | 'postgres', overrides: Record<string, string> = {}): Promise<Stack> {
  const undo: Array<() => Promise<unknown>> = [];
  const unwind = async () => {
    let first: unknown;
    for (const fn of undo.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        first ??= err;
      }
    }
    if (first) throw first;
  };
  try {
    const sandbox = await startSandbox({ dataDir: SANDBOX_DIR, ports: { control: 0, apns: 0, fcm: 0, wns: 0, webpush: 0 } });
    undo.push(() => sandbox.close());
    const config = testConfig({ ...sandboxEnv(sandbox), RETRY_BASE_DELAY_MS: '200', ...overrides }, backend);
    const { db, drop } = await testDatabase(config);
    undo.push(() => drop());
    const api = await createApi(config);
    undo.push(() => api.close());
    await api.listen(0, '127.0.0.1');
    const apiUrl = await api.getUrl();
    // an ephemeral ops port: several stacks (and a developer's own worker) may run at once
    const workerOptions = { ops: { port: 0, host: '127.0.0.1' } };
    let worker = await startWorker(config, workerOptions);
    let workerRunning = true;
    undo.push(async () => {
      if (workerRunning) await stack.worker.close();
    });
    const stack: Stack = {
      config, db, sandbox, api, apiUrl: apiUrl.replace('[::1]', '127.0.0.1'), worker,
      async stopWorker() {
        await worker.close();
        workerRunning = false;
      },
      async startWorker() {
        worker = await startWorker(config, workerOptions);
        stack.worker = worker;
        workerRunning = true;
      },
      // worker, api, sandbox, then the data: each step runs even when an earlier one throws
      close: unwind,
    };
    return stack;
  } catch (err) {
    await unwind().catch(() => {});
    throw err;
  }
}

export interface CallResult<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** A tiny HTTP client for the API under test. */
export function client(baseUrl: string) {
  return async function call<T = Record<string, unknown>>(
    method: string,
    path: string,
    opts: { key?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
  ): Promise<CallResult<T>> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    let body: string | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(baseUrl + path, { method, headers, body });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T, headers: res.headers };
  };
}

/** Creates an app and its admin, send and register keys. */
export async function provisionApp(call: ReturnType<typeof client>, name = 'test app') {
  const app = await call<{ id: string; keys: Array<{ key: string }> }>('POST', '/v1/apps', { key: TEST_ADMIN_KEY, body: { name } });
  if (app.status !== 201) throw new Error(`create app: ${app.status} ${JSON.stringify(app.body)}`);
  const admin = app.body.keys[0].key;
  const mk = async (scopes: string[]) => (await call<{ key: string }>('POST', `/v1/apps/${app.body.id}/keys`, { key: admin, body: { name: scopes.join('+'), scopes } })).body.key;
  return { appId: app.body.id, admin, send: await mk(['send']), register: await mk(['register']) };
}

/** Control-plane calls to the sandbox. */
export function sandboxControl(sb: RunningSandbox) {
  return async function control<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(sb.controlUrl + path, {
      method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`sandbox ${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  };
}

/** Polls until fn returns a truthy value or the deadline passes (then throws with the last value). */
export async function waitFor<T>(fn: () => Promise<T>, what: string, timeoutMs = 20_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}
