// The shape every `arbees` sub-command has, so help and dispatch are uniform.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface Command {
  /** Words after `arbees`, e.g. ['config', 'check']. */
  readonly path: string[];
  readonly summary: string;
  /** Full help text shown by `--help`. */
  readonly help: string;
  run(args: string[], io: CommandIo): number | Promise<number>;
}

export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
}

export class UsageError extends Error {}

/** parseArgs with unknown options reported as a UsageError instead of a stack trace. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
