// `make cluster-up` / `make cluster-down`: the rig's single-node cluster (test/rig/node.ts) for
// people, kept running in the background, its state in /var/lib/arbees-cluster.
// Usage: node --import tsx test/rig/cluster-cli.ts up|down|status|load IMAGE... [--help]
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LocalServiceError } from '../../cli/local/process.js';
import { packageInfo } from '../../lib/package-root.js';
import { imageTar, importImage, NODE, startCluster } from './node.js';
import { alive, readState, requireRootAndCgroups, teardown } from './node-host.js';

const DIR = process.env.ARBEES_CLUSTER_DIR ?? '/var/lib/arbees-cluster';
const HELP = `usage: cluster-cli.ts <command>
  up             start the local single-node cluster (root, Debian/Ubuntu, no Docker needed) and
                 import the images scripts/image.sh has built; prints the kubeconfig path
  down           stop it and undo everything it changed on the host
  status         whether it runs, and its kubeconfig
  load IMAGE...  import images into the node: docker-archive tars, or names of scripts/image.sh's
                 images (arbees, pause, redis, postgres), built first when needed
State and logs: ${DIR} (ARBEES_CLUSTER_DIR). The node: ${NODE.ip}, pods ${NODE.podCIDR},
services ${NODE.serviceCIDR}, NodePorts on ${NODE.ip}; nothing a pod sends leaves the machine.`;

const kubeconfigOf = (dir: string) => join(dir, 'control-plane', 'kubeconfig');

/** The tars of the images scripts/image.sh has already built (builds nothing). */
function builtImages(): string[] {
  return ['arbees', 'redis', 'postgres'].flatMap((name) => {
    try {
      return [
        execFileSync('bash', [join(packageInfo().root, 'scripts', 'image.sh'), '--cached-only', name], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }).trim(),
      ];
    } catch {
      return [];
    }
  });
}

function running(): ReturnType<typeof readState> {
  const state = readState();
  return state && state.processes.some((p) => p.name === 'kubelet' && alive(p.pid)) ? state : undefined;
}

async function main(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  if (!command || command === '--help' || command === '-h' || rest.includes('--help')) {
    console.log(HELP);
    return;
  }
  if (command !== 'status') requireRootAndCgroups();
  switch (command) {
    case 'up': {
      const up = running();
      if (up) {
        console.log(`already up (${up.dir}); kubeconfig: ${kubeconfigOf(up.dir)}`);
        return;
      }
      const began = Date.now();
      rmSync(DIR, { recursive: true, force: true });
      mkdirSync(DIR, { recursive: true, mode: 0o755 });
      const cluster = await startCluster(DIR, { kind: 'cluster-up', keep: true });
      for (const tar of builtImages()) console.log(`imported ${cluster.loadImage(tar).join(', ')}`);
      console.log(
        `cluster up in ${((Date.now() - began) / 1000).toFixed(0)}s: Kubernetes ${cluster.version}, ` +
          `node ${cluster.nodeName} (${cluster.nodeIP})`,
      );
      console.log(`kubeconfig: ${cluster.kubeconfigPath}`);
      return;
    }
    case 'down': {
      const state = readState();
      if (!state) {
        console.log('no cluster node is up');
        return;
      }
      await teardown(state);
      console.log(`cluster down (logs kept in ${state.dir})`);
      return;
    }
    case 'status': {
      const up = running();
      console.log(up ? `up (${up.dir}); kubeconfig: ${kubeconfigOf(up.dir)}` : 'down');
      return;
    }
    case 'load': {
      const up = running();
      if (!up) throw new LocalServiceError('no cluster node is up: `make cluster-up` first');
      // An image's name (arbees, redis, ...) builds it first if needed (scripts/image.sh).
      for (const arg of rest) {
        const tar = arg.endsWith('.tar') ? arg : imageTar(arg);
        console.log(`${tar}: ${importImage(up.containerdSocket, tar).join(', ')}`);
      }
      return;
    }
    default:
      throw new LocalServiceError(`unknown command ${command}\n${HELP}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof LocalServiceError ? error.message : error);
  process.exit(1);
});
