// A lean process entry for the executor alone (`node --import tsx cli/arbees-executor.ts`, or
// dist/cli/arbees-executor.js): the same as `arbees executor`, without the dispatcher, so that a
// restarted executor is back within moments.
import { UsageError } from './command.js';
import { executorCommand } from './commands/executor.js';

Promise.resolve(
  executorCommand.run(process.argv.slice(2), {
    out: (t) => process.stdout.write(t + '\n'),
    err: (t) => process.stderr.write(t + '\n'),
    env: process.env,
  }),
).then(
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
