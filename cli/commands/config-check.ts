import type { Command } from '../command.js';
import { parseOptions } from '../command.js';
import { envVariables, loadRuntimeConfig } from '../../lib/config.js';
import { ConfigError } from '../../contracts/config-error.js';
import { redactUrl } from '../../lib/log.js';

const variables = Object.entries(envVariables)
  .map(([path, name]) => `  ${name.padEnd(22)} ${path}`)
  .join('\n');

export const configCheckCommand: Command = {
  path: ['config', 'check'],
  summary: 'Validate a config file and/or ARBEES_* environment variables',
  help: `Usage: arbees config check [--file PATH] [--no-env] [--json]

Validates the runtime configuration that every Arbees process reads: the file
given with --file (YAML or JSON; also ARBEES_CONFIG_FILE), with ARBEES_*
environment variables applied on top. Prints every problem at once and exits 1
when the configuration is invalid, 0 when it is valid.

Options:
  -f, --file PATH  config file to check (default: $ARBEES_CONFIG_FILE)
  --no-env         ignore the environment, check the file alone
  --json           print the resolved config as JSON (passwords redacted)
  -h, --help       show this help

Environment variables:
${variables}`,
  run(args, io) {
    const { values } = parseOptions(args, {
      file: { type: 'string', short: 'f' },
      'no-env': { type: 'boolean' },
      json: { type: 'boolean' },
    });
    const file = values.file ?? io.env.ARBEES_CONFIG_FILE;
    try {
      const config = loadRuntimeConfig({ file, env: values['no-env'] ? {} : io.env });
      const shown = {
        ...config,
        redis: { url: redactUrl(config.redis.url) },
        postgres: { url: redactUrl(config.postgres.url) },
      };
      io.out(
        values.json ? JSON.stringify(shown, null, 2) : `config OK: shard "${config.shard}" (${file ? `file ${file}` : 'environment'})`,
      );
      return 0;
    } catch (error) {
      if (error instanceof ConfigError) {
        io.err(error.message);
        return 1;
      }
      throw error;
    }
  },
};
