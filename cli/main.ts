// `arbees`: the one entry point for every Arbees process and tool.
import type { Command, CommandIo } from './command.js';
import { commands, type CommandEntry } from './registry.js';

// Help lists summaries, which live in the command modules: only help loads them all.
const loadAll = (entries: CommandEntry[]) => Promise.all(entries.map((entry) => entry.load()));

async function topLevelHelp(): Promise<string> {
  const loaded = await loadAll(commands);
  const width = Math.max(...loaded.map((c) => c.path.join(' ').length));
  return `Usage: arbees <command> [options]

Cross-venue trading for live sports prediction markets (Kalshi, Polymarket).

Commands:
${loaded.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`).join('\n')}

Run "arbees <command> --help" for a command's options.`;
}

/** Finds the command whose path is the longest prefix of argv. */
function resolve(argv: string[]): { entry?: CommandEntry; rest: string[]; group?: CommandEntry[] } {
  const words = argv.filter((a) => !a.startsWith('-'));
  let best: CommandEntry | undefined;
  for (const entry of commands) {
    if (entry.path.every((word, i) => words[i] === word) && (!best || entry.path.length > best.path.length)) best = entry;
  }
  if (best) {
    const rest = [...argv];
    for (const word of best.path) rest.splice(rest.indexOf(word), 1);
    return { entry: best, rest };
  }
  const group = commands.filter((c) => words[0] !== undefined && c.path[0] === words[0]);
  return { rest: argv, group: group.length ? group : undefined };
}

export async function main(argv: string[], io: CommandIo): Promise<number> {
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  const { entry, rest, group } = resolve(argv);
  if (!entry) {
    if (group) {
      const loaded = await loadAll(group);
      io[wantsHelp ? 'out' : 'err'](
        `Usage: arbees ${group[0]!.path[0]} <command>\n\nCommands:\n${loaded.map((c) => `  ${c.path.join(' ')}  ${c.summary}`).join('\n')}`,
      );
      return wantsHelp ? 0 : 2;
    }
    if (argv.length === 0 || wantsHelp) {
      io.out(await topLevelHelp());
      return argv.length === 0 ? 2 : 0;
    }
    io.err(`arbees: unknown command "${argv.join(' ')}"\n\n${await topLevelHelp()}`);
    return 2;
  }
  const command: Command = await entry.load();
  if (wantsHelp) {
    io.out(command.help);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    // Imported as the commands are (dynamically), so that it is their class even where a test
    // runner loaded this file as CommonJS and the commands, through import(), as ES modules.
    const { UsageError } = await import('./command.js');
    if (error instanceof UsageError) {
      io.err(`arbees ${command.path.join(' ')}: ${error.message}\n\n${command.help}`);
      return 2;
    }
    throw error;
  }
}
