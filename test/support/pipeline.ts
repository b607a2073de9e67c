// The whole pipeline on one machine for load runs: Redis and PostgreSQL as local processes, both
// venue simulators in this process (one thread each, their clocks started together, so their
// price paths agree), the shard's four workloads as `arbees` child processes, as `arbees demo`
// runs them.
//
// It shares cli/demo/stack.ts's stores, workload processes and readiness wait; what differs: the
// CLI is started through tsx explicitly (under mocha or a bench the running script is not the
// `arbees` CLI); each simulator runs on its own worker thread (at 10k+ messages/s one event loop for both simulators and the harness falls
// behind and its clock drifts from the scenario); the services' process ids are exposed (peak
// memory); the workloads can be stopped in order (upstream first, so that every signal published
// reaches the executor before it stops).
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startStores, startWorkloads, untilReady, type Component, type Workload } from '../../cli/demo/stack.js';
import { demoShardConfig } from '../../cli/demo/shard.js';
import type { PostgresService } from '../../cli/local/postgres.js';
import type { RedisService } from '../../cli/local/redis.js';
import type { ShardConfig } from '../../contracts/shard-config.js';
import { ScenarioEngine, type ArbTruth } from '../../workloads/sim/engine.js';
import type { Scenario } from '../../workloads/sim/scenario.js';
import { startVenueThreads, type ClockReading, type SimThread } from './sim-thread.js';

export { untilReady };
export type { Component, Workload };

const REPO = join(import.meta.dirname, '..', '..');
const CLI = join(REPO, 'cli', 'arbees.ts');

export interface Pipeline {
  shard: ShardConfig;
  redis: RedisService;
  postgres: PostgresService;
  postgresUrl: string;
  /** Process ids of the services (for their peak memory), when known. */
  servicePids: { redis?: number; postgres?: number };
  kalshi: SimThread;
  polymarket: SimThread;
  /** The injected arbitrage windows (the engine is deterministic: the simulators run the same). */
  groundTruth: ArbTruth[];
  workloads: Workload[];
  /** Starts both simulators' scenario clocks together; their clocks right after. */
  startScenario(): Promise<Record<'kalshi' | 'polymarket', ClockReading>>;
  /** SIGTERM to these workloads, waiting for each to exit. */
  stopWorkloads(which: readonly Component[]): Promise<void>;
  stop(): Promise<void>;
}

export interface PipelineOptions {
  shard: string;
  /** Its messageRate is the simulators' engine steps per simulated second. */
  scenario: Scenario;
  speed: number;
  workDir: string;
  logDir: string;
  /** The executor's simulated venue round trip (paper mode), as `arbees demo` uses. */
  paperLatencyMs?: number;
  /** The detector's and executor's signal key (default: a new random one). */
  signalKey?: string;
  /** Changes to the shard config the workloads get (load runs: limits that never stop the flow). */
  configure?: (shard: ShardConfig) => ShardConfig;
  /** More `arbees executor` flags. */
  executorArgs?: string[];
  /** Node flags for the workloads' processes (a profile: `--cpu-prof --cpu-prof-dir DIR`). */
  nodeArgs?: string[];
  progress?: (line: string) => void;
}

export async function startPipeline(options: PipelineOptions): Promise<Pipeline> {
  const { workDir, logDir } = options;
  const progress = options.progress ?? (() => undefined);
  mkdirSync(logDir, { recursive: true });
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  };
  try {
    progress('starting Redis and PostgreSQL');
    const { redis, postgres, postgresUrl } = await startStores(workDir, cleanups);
    const servicePids: Pipeline['servicePids'] = {};
    const probe = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      const pid = /process_id:(\d+)/.exec(await probe.info('server'))?.[1];
      if (pid) servicePids.redis = Number(pid);
    } finally {
      probe.disconnect();
    }
    try {
      servicePids.postgres = Number(readFileSync(join(workDir, 'postgres', 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      /* not readable: memory of PostgreSQL is left out */
    }

    progress('starting the Kalshi and Polymarket simulators (one thread each)');
    const { kalshi, polymarket, kalshiKey } = await startVenueThreads(options.scenario, options.speed, logDir);
    cleanups.push(
      () => kalshi.stop(),
      () => polymarket.stop(),
    );

    const demoShard = demoShardConfig(options.shard, options.scenario, {
      kalshiRestUrl: kalshi.url,
      kalshiWsUrl: kalshi.wsUrl,
      polymarketClobUrl: polymarket.url,
      polymarketWsUrl: polymarket.wsUrl,
      polymarketGammaUrl: polymarket.gammaUrl!,
    });
    const shard = options.configure ? options.configure(demoShard) : demoShard;
    progress('starting kalshi-monitor, polymarket-monitor, detector and executor');
    const workloads = await startWorkloads({
      shardConfig: shard,
      workDir,
      redisUrl: redis.url,
      postgresUrl,
      kalshi: kalshiKey,
      logDir,
      // Not the running script (mocha or a bench): the arbees CLI, through tsx.
      arbees: { command: process.execPath, args: [...(options.nodeArgs ?? []), '--import', 'tsx', CLI], cwd: REPO },
      paperLatencyMs: options.paperLatencyMs,
      ...(options.signalKey ? { signalKey: options.signalKey } : {}),
      ...(options.executorArgs ? { executorArgs: options.executorArgs } : {}),
    });
    cleanups.push(...workloads.map((w) => () => w.process.stop('SIGTERM', 15_000)));
    return {
      shard,
      redis,
      postgres,
      postgresUrl,
      servicePids,
      kalshi,
      polymarket,
      groundTruth: new ScenarioEngine(options.scenario).groundTruth(),
      workloads,
      async startScenario() {
        const [k, p] = await Promise.all([kalshi.resume(), polymarket.resume()]);
        return { kalshi: k, polymarket: p };
      },
      async stopWorkloads(which) {
        await Promise.all(workloads.filter((w) => which.includes(w.component)).map((w) => w.process.stop('SIGTERM', 15_000)));
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
