// A lean process entry for the executor alone (`node --import tsx workloads/executor/main.ts`, or
// dist/workloads/executor/main.js): the same as `arbees executor`, without loading every other
// command, so that a restarted executor is back within moments.
import { UsageError } from '../../cli/command.js';
import { executorCommand } from '../../cli/commands/executor.js';

Promise.resolve(
  executorCommand.run(process.argv.slice(2), { out: (t) => process.stdout.write(t + '\n'), err: (t) => process.stderr.write(t + '\n'), env: process.env }),
)
  .then(
    (code) => {
      process.exitCode = code;
      // Open handles (timers, sockets) must not keep a stopped executor alive.
      setTimeout(() => process.exit(code), 2_000).unref();
    },
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`executor: ${error.message}\n\n${executorCommand.help}\n`);
        process.exit(2);
      }
      process.stderr.write(`executor: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
