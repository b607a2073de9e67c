import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Command } from '../command.js';
import { parseOptions } from '../command.js';
import { redisControlPublisher } from '../../operator/breaker/control.js';
import { redisCleanup } from '../../operator/cleanup.js';
import { loadOperatorConfig, operatorEnv, settingsFromConfig } from '../../operator/config.js';
import { loadKubeConfig } from '../../operator/kube/config.js';
import { Operator } from '../../operator/manager.js';
import { ConfigError } from '../../contracts/config-error.js';
import { createLogger } from '../../lib/log.js';
import { startOpsServer } from '../../lib/ops-server.js';

const variables = Object.entries(operatorEnv)
  .map(([key, name]) => `  ${name.padEnd(36)} ${key}`)
  .join('\n');

export const operatorCommand: Command = {
  path: ['operator'],
  summary: 'Run the Kubernetes operator that reconciles TradingShards and runs their circuit breakers',
  help: `Usage: arbees operator [--kubeconfig PATH]

Watches TradingShard resources (arbees.io/v1alpha1) and reconciles each into its
monitors, detector and executor; evaluates every shard's circuit-breaker rules in
Prometheus and publishes the state to the shard's status and to Redis. Several
replicas may run: a Lease elects the one that acts. Serves /healthz, /readyz and
/metrics on ARBEES_HTTP_PORT. Stops cleanly on SIGTERM.

Options:
  --kubeconfig PATH  kubeconfig to use (default: $KUBECONFIG, else ~/.kube/config, else in-cluster)
  -h, --help         show this help

Environment variables:
${variables}`,
  async run(args, io) {
    const { values } = parseOptions(args, { kubeconfig: { type: 'string' } });
    let config;
    try {
      config = loadOperatorConfig({ POD_NAME: hostname(), ...io.env });
    } catch (error) {
      if (error instanceof ConfigError) {
        io.err(error.message);
        return 1;
      }
      throw error;
    }
    const log = createLogger({ name: 'arbees-operator', level: config.logLevel });
    const kubeConfig = await loadKubeConfig({ file: values.kubeconfig, env: io.env });

    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const control = redisControlPublisher(config.redisUrl, config.controlTtlSeconds);
    const cleanup = redisCleanup(config.redisUrl);
    let exitCode = 0;
    let stopping: Promise<void> | undefined;
    const operator = new Operator({
      kubeConfig,
      settings: settingsFromConfig(config),
      namespace: config.watchNamespace,
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
        void shutdown('lost leadership');
      },
    });
    const ops = await startOpsServer({ port: config.httpPort, registry, readiness: () => operator.readiness() });
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    const shutdown = (why: string) => {
      stopping ??= (async () => {
        log.info({ why }, 'shutting down');
        await operator.stop();
        await ops.close();
        control.close();
        cleanup.close();
        finished();
      })();
      return stopping;
    };
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    process.once('SIGINT', () => void shutdown('SIGINT'));
    operator.start();
    await done;
    return exitCode;
  },
};
