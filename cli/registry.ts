// Every sub-command, in the order `arbees --help` lists them.
import type { Command } from './command.js';
import { configCheckCommand } from './commands/config-check.js';
import { versionCommand } from './commands/version.js';

export const commands: Command[] = [versionCommand, configCheckCommand];
