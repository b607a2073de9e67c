import type { Command } from '../command.js';
import { parseOptions } from '../command.js';
import { packageInfo } from '../../lib/package-root.js';

export const versionCommand: Command = {
  path: ['version'],
  summary: 'Print the Arbees version',
  help: `Usage: arbees version [--json]

Prints the Arbees version and the Node.js runtime it runs on.

Options:
  --json      print {"version", "node"} as JSON
  -h, --help  show this help`,
  run(args, io) {
    const { values } = parseOptions(args, { json: { type: 'boolean' } });
    const info = { version: packageInfo().version, node: process.version };
    io.out(values.json ? JSON.stringify(info) : `arbees ${info.version} (node ${info.node})`);
    return 0;
  },
};
