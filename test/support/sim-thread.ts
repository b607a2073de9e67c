// A venue simulator on its own thread (worker_threads), for load runs: each simulator gets its own
// event loop, so neither the other simulator nor the measuring harness slows its clock or its
// sends. Started paused; `resume()` starts its scenario clock. This one file is both sides: the
// parent's handle (startSimThread) and, inside the worker, the code that runs the simulator.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import pino from 'pino';
import { createLogger } from '../../lib/log.js';
import { threadCpuMs } from './proc-cpu.js';
import { startKalshiSim } from '../../workloads/sim/kalshi/server.js';
import { startPolymarketSim } from '../../workloads/sim/polymarket/server.js';
import type { PolymarketApiCreds } from '../../workloads/sim/polymarket/auth.js';
import type { GeoblockOptions } from '../../workloads/sim/polymarket/geoblock.js';
import type { Scenario } from '../../workloads/sim/scenario.js';

export type SimThreadOptions = {
  scenario: Scenario;
  speed: number;
  host: string;
  logFile: string;
} & (
  | { venue: 'kalshi'; apiKeys: Array<{ id: string; publicKeyPem: string }> }
  | { venue: 'polymarket'; creds: PolymarketApiCreds[]; geoblock: GeoblockOptions }
);

/** The simulator's clock read at one wall-clock instant. */
export interface ClockReading {
  /** Wall-clock epoch ms. */
  wall: number;
  /** Simulated epoch ms (what the venue stamps on its messages). */
  now: number;
  /** Simulated ms since the scenario started. */
  elapsed: number;
  /** How far the simulator's sends are behind its clock (simulated ms of events due but not yet sent). */
  lagMs: number;
  /** CPU time (user + system) of the simulator's own thread since it started, ms. */
  cpuMs: number;
}

export interface SimThread {
  venue: 'kalshi' | 'polymarket';
  url: string;
  wsUrl: string;
  gammaUrl?: string;
  resume(): Promise<ClockReading>;
  clock(): Promise<ClockReading>;
  stop(): Promise<void>;
}

type Request = { id: number; type: 'resume' | 'clock' | 'stop' };
type Reply = { id: number; reading?: ClockReading; error?: string };

const WORKER_FLAG = 'arbees-sim-thread';

/** URL of tsx's ESM register API (import.meta.resolve is missing when mocha loads this file as CommonJS). */
function tsxEsmApi(): string {
  const packageJson = createRequire(import.meta.url).resolve('tsx/package.json');
  const exports = (JSON.parse(readFileSync(packageJson, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports;
  return pathToFileURL(join(dirname(packageJson), exports['./esm/api']!.import.default)).href;
}

export async function startSimThread(options: SimThreadOptions): Promise<SimThread> {
  // Workers do not inherit tsx's loader: register it in the worker, then load this file there.
  const tsx = tsxEsmApi();
  const code = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(code, { eval: true, workerData: { flag: WORKER_FLAG, options } });
  const pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  let failure: Error | undefined;
  const failAll = (error: Error) => {
    failure ??= error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`${options.venue} simulator thread exited (code ${code})`)));
  const ready = await new Promise<{ url: string; wsUrl: string; gammaUrl?: string }>((resolve, reject) => {
    worker.once('message', (message: { ready?: { url: string; wsUrl: string; gammaUrl?: string }; error?: string }) =>
      message.ready
        ? resolve(message.ready)
        : reject(new Error(`${options.venue} simulator failed to start: ${message.error ?? 'unknown'}`)),
    );
    worker.once('error', reject);
  });
  worker.on('message', (reply: Reply) => {
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if (reply.error) p.reject(new Error(reply.error));
    else p.resolve(reply);
  });
  let next = 0;
  const call = (type: Request['type']) =>
    new Promise<Reply>((resolve, reject) => {
      if (failure) return reject(failure);
      const id = ++next;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, type } satisfies Request);
    });
  let stopped = false;
  return {
    venue: options.venue,
    ...ready,
    resume: async () => (await call('resume')).reading!,
    clock: async () => (await call('clock')).reading!,
    async stop() {
      if (stopped) return;
      stopped = true;
      await call('stop').catch(() => undefined);
      await worker.terminate();
    },
  };
}

/**
 * Both simulators on their threads for a load run, with a fresh Kalshi key (the monitors' and the
 * executor's) and one Polymarket API key, answering loopback only. Logs go to `logDir`.
 */
export async function startVenueThreads(
  scenario: Scenario,
  speed: number,
  logDir: string,
): Promise<{ kalshi: SimThread; polymarket: SimThread; kalshiKey: { keyId: string; privateKeyPem: string } }> {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyId = `load-${randomBytes(4).toString('hex')}`;
  const common = { scenario, speed, host: '127.0.0.1' } as const;
  const [kalshi, polymarket] = await Promise.all([
    startSimThread({
      ...common,
      venue: 'kalshi',
      logFile: join(logDir, 'sim-kalshi.log'),
      apiKeys: [{ id: keyId, publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() }],
    }),
    startSimThread({
      ...common,
      venue: 'polymarket',
      logFile: join(logDir, 'sim-polymarket.log'),
      creds: [
        {
          apiKey: 'load',
          secret: randomBytes(32).toString('base64'),
          passphrase: 'load',
          address: '0x0000000000000000000000000000000000000001',
        },
      ],
      geoblock: { allowedCidrs: ['127.0.0.0/8'], scope: 'all' },
    }),
  ]);
  return { kalshi, polymarket, kalshiKey: { keyId, privateKeyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() } };
}

async function runInWorker(options: SimThreadOptions): Promise<void> {
  const port = parentPort!;
  const logger = createLogger({ name: `sim-${options.venue}`, level: 'info' }, pino.destination({ dest: options.logFile, sync: false }));
  // Wall-clock stamps at speed 1: a message's stamp is when it was sent, so the monitors measure the wire from it.
  const common = {
    scenario: options.scenario,
    speed: options.speed,
    wallStamps: options.speed === 1,
    host: options.host,
    port: 0,
    autoStart: false,
    logger,
  } as const;
  const sim =
    options.venue === 'kalshi'
      ? await startKalshiSim({ ...common, apiKeys: options.apiKeys })
      : await startPolymarketSim({ ...common, creds: options.creds, geoblock: options.geoblock });
  sim.pause();
  const reading = (): ClockReading => {
    const elapsed = sim.clock.elapsed();
    return {
      wall: Date.now(),
      now: sim.clock.now(),
      elapsed,
      lagMs: Math.max(0, elapsed - (sim.engine.peekTime() ?? elapsed)),
      cpuMs: threadCpuMs(),
    };
  };
  port.on('message', (request: Request) => {
    void (async () => {
      try {
        if (request.type === 'resume') sim.resume();
        if (request.type === 'stop') {
          await sim.stop();
          port.postMessage({ id: request.id } satisfies Reply);
          port.close();
          return;
        }
        port.postMessage({ id: request.id, reading: reading() } satisfies Reply);
      } catch (error) {
        port.postMessage({ id: request.id, error: (error as Error).message } satisfies Reply);
      }
    })();
  });
  port.postMessage({ ready: { url: sim.url, wsUrl: sim.wsUrl, ...('gammaUrl' in sim ? { gammaUrl: sim.gammaUrl } : {}) } });
}

if (!isMainThread && (workerData as { flag?: string } | null)?.flag === WORKER_FLAG) {
  const { options } = workerData as { options: SimThreadOptions };
  runInWorker(options).catch((error: unknown) =>
    parentPort!.postMessage({ error: error instanceof Error ? error.message : String(error) }),
  );
}
