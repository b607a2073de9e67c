// The validating admission webhook for TradingShards, served over HTTPS by every operator replica
// (leader or not): what the CRD's schema cannot check is refused at `kubectl apply` — a breaker
// rule whose query is not valid PromQL, does not give numbers, or reads too much history; an
// image name the cluster owner did not allow. The reconciler checks the same again (a shard
// admitted while no operator answered is reported Degraded), so nothing depends on the webhook.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { TradingShard } from '../contracts/trading-shard.js';
import { listen, type Listening } from '../lib/listen.js';
import type { OperatorSettings } from './builders/settings.js';
import { preflight } from './preflight.js';

/** Every reason the shard may not be admitted (empty: it may). */
export function shardProblems(shard: TradingShard, settings: OperatorSettings): string[] {
  // Rules and images only: Secrets and namespaces are the reconciler's (they may come after the shard).
  const paper = { ...shard, spec: { ...shard.spec, executor: { ...shard.spec.executor, mode: 'paper' as const } } };
  return preflight(paper, settings, new Map())
    .refusals.filter((r) => r.reason === 'InvalidRule' || r.reason === 'ImageNotAllowed')
    .map((r) => r.message);
}

interface AdmissionReview {
  apiVersion: string;
  kind: 'AdmissionReview';
  request?: { uid: string; object?: TradingShard };
}

/** The AdmissionReview answer for one review. */
export function review(body: AdmissionReview, settings: OperatorSettings): object {
  const uid = body.request?.uid ?? '';
  const shard = body.request?.object;
  const problems = shard ? shardProblems(shard, settings) : ['no object to review'];
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: {
      uid,
      allowed: problems.length === 0,
      ...(problems.length > 0 ? { status: { code: 403, reason: 'Invalid', message: problems.join('; ') } } : {}),
    },
  };
}

export type Webhook = Listening;

/** Serves POST /validate-tradingshard with the certificate in `certDir` (tls.crt, tls.key). */
export async function startWebhook(options: {
  port: number;
  host?: string;
  certDir: string;
  settings: OperatorSettings;
  log: Logger;
}): Promise<Webhook> {
  const server: Server = createServer(
    { cert: readFileSync(join(options.certDir, 'tls.crt')), key: readFileSync(join(options.certDir, 'tls.key')) },
    (req, res) => {
      const answer = (status: number, body: object | string) => {
        res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url?.split('?')[0] !== '/validate-tradingshard') return answer(404, 'not found\n');
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        // A review of a shard is a few KiB; the apiserver caps objects at 3 MiB.
        if (size > 4 << 20) req.destroy();
        else chunks.push(chunk);
      });
      req.on('end', () => {
        try {
          answer(200, review(JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdmissionReview, options.settings));
        } catch (error) {
          options.log.warn({ err: (error as Error).message }, 'admission review not understood');
          answer(400, 'not an AdmissionReview\n');
        }
      });
    },
  );
  return listen(server, options.port, options.host ?? '0.0.0.0');
}
