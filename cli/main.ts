// `arbees`: the one entry point for every Arbees process and tool.
import type { Command, CommandIo } from './command.js';
import { UsageError } from './command.js';
import { commands } from './registry.js';

function topLevelHelp(): string {
  const width = Math.max(...commands.map((c) => c.path.join(' ').length));
  return `Usage: arbees <command> [options]

Cross-venue trading for live sports prediction markets (Kalshi, Polymarket).

Commands:
${commands.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`).join('\n')}

Run "arbees <command> --help" for a command's options.`;
}

/** Finds the command whose path is the longest prefix of argv. */
function resolve(argv: string[]): { command?: Command; rest: string[]; group?: Command[] } {
  const words = argv.filter((a) => !a.startsWith('-'));
  let best: Command | undefined;
  for (const command of commands) {
    if (command.path.every((word, i) => words[i] === word) && (!best || command.path.length > best.path.length)) best = command;
  }
  if (best) {
    const rest = [...argv];
    for (const word of best.path) rest.splice(rest.indexOf(word), 1);
    return { command: best, rest };
  }
  const group = commands.filter((c) => words[0] !== undefined && c.path[0] === words[0]);
  return { rest: argv, group: group.length ? group : undefined };
}

export async function main(argv: string[], io: CommandIo): Promise<number> {
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  const { command, rest, group } = resolve(argv);
  if (!command) {
    if (group) {
      io[wantsHelp ? 'out' : 'err'](
        `Usage: arbees ${group[0]!.path[0]} <command>\n\nCommands:\n${group.map((c) => `  ${c.path.join(' ')}  ${c.summary}`).join('\n')}`,
      );
      return wantsHelp ? 0 : 2;
    }
    if (argv.length === 0 || wantsHelp) {
      io.out(topLevelHelp());
      return argv.length === 0 ? 2 : 0;
    }
    io.err(`arbees: unknown command "${argv.join(' ')}"\n\n${topLevelHelp()}`);
    return 2;
  }
  if (wantsHelp) {
    io.out(command.help);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`arbees ${command.path.join(' ')}: ${error.message}\n\n${command.help}`);
      return 2;
    }
    throw error;
  }
}
