// Every sub-command, in the order `arbees --help` lists them. Each command's module is imported
// only when that command runs (or help lists it): `arbees operator` must not load the trading
// workloads, nor they the operator — every module loaded stays resident for the process's life.
import type { Command } from './command.js';

export interface CommandEntry {
  /** Words after `arbees`; the loaded command's own path, duplicated here for dispatch. */
  readonly path: string[];
  load(): Promise<Command>;
}

export const commands: CommandEntry[] = [
  { path: ['version'], load: async () => (await import('./commands/version.js')).versionCommand },
  { path: ['config', 'check'], load: async () => (await import('./commands/config-check.js')).configCheckCommand },
  { path: ['operator'], load: async () => (await import('./commands/operator.js')).operatorCommand },
  { path: ['kalshi-monitor'], load: async () => (await import('./commands/monitors.js')).kalshiMonitorCommand },
  { path: ['polymarket-monitor'], load: async () => (await import('./commands/monitors.js')).polymarketMonitorCommand },
  { path: ['detector'], load: async () => (await import('./commands/detector.js')).detectorCommand },
  { path: ['executor'], load: async () => (await import('./commands/executor.js')).executorCommand },
  { path: ['sim', 'kalshi'], load: async () => (await import('./commands/sim.js')).simKalshiCommand },
  { path: ['sim', 'polymarket'], load: async () => (await import('./commands/sim.js')).simPolymarketCommand },
  { path: ['demo'], load: async () => (await import('./commands/demo.js')).demoCommand },
  { path: ['discover'], load: async () => (await import('./commands/discover.js')).discoverCommand },
  { path: ['breaker', 'calibrate'], load: async () => (await import('./commands/breaker.js')).breakerCalibrateCommand },
];
