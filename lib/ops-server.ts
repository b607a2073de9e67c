// The operational HTTP endpoints every Arbees process serves: /metrics for Prometheus,
// /healthz (the process is alive) and /readyz (it is doing its job, e.g. subscribed and fresh).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

export type ReadinessCheck = () => { ready: boolean; reason?: string } | Promise<{ ready: boolean; reason?: string }>;

export async function startOpsServer(options: {
  port: number;
  host?: string;
  registry: Registry;
  readiness?: ReadinessCheck;
}): Promise<OpsServer> {
  const readiness = options.readiness ?? (() => ({ ready: true }));
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n');
    if (path === '/healthz') return reply(200, 'ok\n');
    if (path === '/readyz') {
      Promise.resolve(readiness())
        .then((r) => reply(r.ready ? 200 : 503, r.ready ? 'ready\n' : `not ready: ${r.reason ?? 'unknown'}\n`))
        .catch((error: unknown) => reply(503, `not ready: ${String(error)}\n`));
      return;
    }
    if (path === '/metrics') {
      options.registry
        .metrics()
        .then((text) => reply(200, text, options.registry.contentType))
        .catch((error: unknown) => reply(500, `metrics failed: ${String(error)}\n`));
      return;
    }
    reply(404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
