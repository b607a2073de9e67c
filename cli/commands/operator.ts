// `arbees operator`: parses the flags and starts the operator (operator/start.ts).
import type { Command } from '../command.js';
import { parseOptions } from '../command.js';
import { operatorEnv } from '../../operator/config.js';
import { startOperator } from '../../operator/start.js';
import { ConfigError } from '../../contracts/config-error.js';

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
    let running;
    try {
      running = await startOperator({ kubeconfigPath: values.kubeconfig, env: io.env });
    } catch (error) {
      if (error instanceof ConfigError) {
        io.err(error.message);
        return 1;
      }
      throw error;
    }
    process.once('SIGTERM', () => void running.stop('SIGTERM'));
    process.once('SIGINT', () => void running.stop('SIGINT'));
    return running.stopped;
  },
};
