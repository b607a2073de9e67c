// Pinned command-line tools the tests drive (installed into .tools/bin by `make setup`).
import { join } from 'node:path';
import { isExecutable } from './binaries.js';
import { RigError } from './process.js';
import { packageInfo } from '../../workloads/lib/package-root.js';

export function tool(name: 'helm' | 'kubectl'): string {
  const path = join(packageInfo().root, '.tools', 'bin', name);
  if (!isExecutable(path)) throw new RigError(`missing ${name} at ${path}: run \`make setup\` (scripts/setup-helm.sh installs the pinned version)`);
  return path;
}
