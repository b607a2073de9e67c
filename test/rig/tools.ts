// Pinned command-line tools the tests drive (installed into .tools/bin by `make setup`).
import { join } from 'node:path';
import { isExecutable } from '../../cli/local/binaries.js';
import { LocalServiceError } from '../../cli/local/process.js';
import { packageInfo } from '../../lib/package-root.js';

export function tool(name: 'helm' | 'kubectl'): string {
  const path = join(packageInfo().root, '.tools', 'bin', name);
  if (!isExecutable(path))
    throw new LocalServiceError(`missing ${name} at ${path}: run \`make setup\` (scripts/setup-helm.sh installs the pinned version)`);
  return path;
}
