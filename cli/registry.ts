// Every sub-command, in the order `arbees --help` lists them.
import type { Command } from './command.js';
import { configCheckCommand } from './commands/config-check.js';
import { demoCommand } from './commands/demo.js';
import { detectorCommand } from './commands/detector.js';
import { discoverCommand } from './commands/discover.js';
import { executorCommand } from './commands/executor.js';
import { kalshiMonitorCommand, polymarketMonitorCommand } from './commands/monitors.js';
import { operatorCommand } from './commands/operator.js';
import { simKalshiCommand, simPolymarketCommand } from './commands/sim.js';
import { versionCommand } from './commands/version.js';

export const commands: Command[] = [
  versionCommand,
  configCheckCommand,
  operatorCommand,
  kalshiMonitorCommand,
  polymarketMonitorCommand,
  detectorCommand,
  executorCommand,
  simKalshiCommand,
  simPolymarketCommand,
  demoCommand,
  discoverCommand,
];
