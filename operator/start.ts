// The operator's start-up: its settings from the environment, a kubeconfig, the Redis control
// publisher and cleanup, then the operator and its /healthz, /readyz and /metrics endpoints.
// `arbees operator` parses its flags and calls this.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createLogger } from '../lib/log.js';
import { startOpsServer } from '../lib/ops-server.js';
import { redisControlPublisher } from './breaker/control.js';
import { redisCleanup } from './cleanup.js';
import { loadOperatorConfig, settingsFromConfig } from './config.js';
import { loadKubeConfig } from './kube/config.js';
import { Operator } from './manager.js';
import { startWebhook } from './webhook.js';

export interface RunningOperator {
  log: Logger;
  /** Resolves with the process's exit code once stopped: 1 when leadership was lost, else 0. */
  stopped: Promise<number>;
  stop(why: string): Promise<void>;
}

/** Throws ConfigError for bad settings. */
export async function startOperator(sources: { kubeconfigPath?: string; env: NodeJS.ProcessEnv }): Promise<RunningOperator> {
  const config = loadOperatorConfig({ POD_NAME: hostname(), ...sources.env });
  const log = createLogger({ name: 'arbees-operator', level: config.logLevel });
  const kubeConfig = await loadKubeConfig({ file: sources.kubeconfigPath, env: sources.env });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const control = redisControlPublisher(config.redisUrl, config.controlTtlSeconds);
  const cleanup = redisCleanup(config.redisUrl);
  let exitCode = 0;
  let stopping: Promise<void> | undefined;
  let finished!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => (finished = resolve));
  const operator = new Operator({
    kubeConfig,
    settings: settingsFromConfig(config),
    namespaces: config.watchNamespaces?.length ? config.watchNamespaces : undefined,
    identity: config.identity,
    lease: { namespace: config.leaseNamespace, name: config.leaseName },
    cleanup,
    log,
    registry,
    resyncMs: config.resyncSeconds * 1000,
    breaker: {
      prometheus: {
        url: config.prometheusUrl,
        bearerToken: config.prometheusBearerTokenFile ? readFileSync(config.prometheusBearerTokenFile, 'utf8').trim() : undefined,
      },
      intervalMs: config.breakerIntervalMs,
      control,
    },
    discovery: { intervalMs: config.discoveryIntervalMs },
    // Losing the lease mid-flight: exit, and let Kubernetes restart us as a clean candidate.
    onLostLeadership: () => {
      exitCode = 1;
      void stop('lost leadership');
    },
  });
  const ops = await startOpsServer({ port: config.httpPort, registry, readiness: () => operator.readiness(), log });
  const webhook = config.webhookCertDir
    ? await startWebhook({ port: config.webhookPort, certDir: config.webhookCertDir, settings: settingsFromConfig(config), log })
    : undefined;
  const stop = (why: string) =>
    (stopping ??= (async () => {
      log.info({ why }, 'shutting down');
      await operator.stop();
      await ops.close();
      await webhook?.close();
      control.close();
      cleanup.close();
      finished(exitCode);
    })());
  operator.start();
  return { log, stopped, stop };
}
