// The operational HTTP endpoints every Arbees process serves: /metrics for Prometheus,
// /healthz (the process is alive) and /readyz (it is doing its job, e.g. subscribed and fresh).
//
// Any pod that can reach the port can read /readyz, so its answer says only `ready` or
// `not ready: <code>`, the code from a closed set (NotReadyCode): never an address, a URL, a
// venue's or an exception's text. The detail behind a code (which may carry any of those) goes to
// the log, once each time the answer changes, never once per probe.
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { listen, type Listening } from './listen.js';

export type OpsServer = Listening;

/** Why a process is not ready: the only words /readyz may say after `not ready: `. */
export const notReadyCodes = [
  /** Not started yet, or still connecting to what it needs at start. */
  'starting',
  'stopping',
  'stopped',
  /** Monitors: the VPN check fails (tunnel down, or the venue sees a refused address). */
  'vpn_down',
  /** Monitors: not connected to the venue's WebSocket (the last connection error is in the log). */
  'venue_disconnected',
  /** Monitors: connected, the subscription not yet acknowledged. */
  'venue_unsubscribed',
  /** Monitors: subscribed books have heard nothing for the quiet period; resubscribing. */
  'quotes_stale',
  /** Monitors: books waiting for the venue's snapshot. */
  'books_resyncing',
  /** Detector: reading the quotes stream from Redis fails or hangs. */
  'redis_unavailable',
  /** Executor: waiting for the shard lock (another executor holds it), or reconciling with the venues. */
  'recovering',
  /** Executor: the shard lock was lost (PostgreSQL connection gone); the process stops. */
  'lost_shard_lock',
  /** Executor: not subscribed to the shard's control channel. */
  'control_unsubscribed',
  /** Operator (leading): its caches of shards and children are not synced yet. */
  'caches_not_synced',
  /** The readiness check itself failed (its error is in the log). */
  'error',
] as const;
export type NotReadyCode = (typeof notReadyCodes)[number];

/** A readiness answer: not ready carries a code for /readyz, and a detail for the log only. */
export type Readiness = { ready: true } | { ready: false; reason: NotReadyCode; detail?: string };

export type ReadinessCheck = () => Readiness | Promise<Readiness>;

const known = new Set<string>(notReadyCodes);

/** The /readyz body for an answer: `ready`, or `not ready: <code>` with a code of the closed set. */
export function readyzBody(r: Readiness): string {
  if (r.ready) return 'ready\n';
  return `not ready: ${known.has(r.reason) ? r.reason : 'error'}\n`;
}

export async function startOpsServer(options: {
  port: number;
  host?: string;
  registry: Registry;
  readiness?: ReadinessCheck;
  /** Where a readiness change's detail, and a failed check's or collection's error, is logged. */
  log?: Logger;
}): Promise<OpsServer> {
  const readiness = options.readiness ?? ((): Readiness => ({ ready: true }));
  const { log } = options;
  let last: string | undefined;
  /** Logs the answer when it differs from the last one (its code, not its detail, which may change every probe). */
  const note = (r: Readiness, error?: unknown) => {
    const body = readyzBody(r);
    if (body === last) return;
    const first = last === undefined;
    last = body;
    if (r.ready) {
      if (!first) log?.info('ready');
    } else if (error !== undefined) log?.warn({ err: error }, 'readiness check failed: not ready');
    else log?.warn({ reason: r.reason, ...(r.detail ? { detail: r.detail } : {}) }, `not ready: ${r.reason}`);
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n');
    if (path === '/healthz') return reply(200, 'ok\n');
    if (path === '/readyz') {
      Promise.resolve()
        .then(readiness)
        .then(
          (r) => r,
          (error: unknown): Readiness => {
            note({ ready: false, reason: 'error' }, error);
            return { ready: false, reason: 'error' };
          },
        )
        .then((r) => {
          note(r);
          reply(r.ready ? 200 : 503, readyzBody(r));
        })
        .catch(() => reply(503, 'not ready: error\n'));
      return;
    }
    if (path === '/metrics') {
      options.registry
        .metrics()
        .then((text) => reply(200, text, options.registry.contentType))
        .catch((error: unknown) => {
          log?.warn({ err: error }, 'collecting metrics failed');
          reply(500, 'metrics failed\n');
        });
      return;
    }
    reply(404, 'not found\n');
  });
  return listen(server, options.port, options.host ?? '0.0.0.0');
}
