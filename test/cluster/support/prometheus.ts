// A Prometheus for the cluster suite, scraping the pods by their addresses every second. Debian's
// Prometheus is built without Kubernetes service discovery, so the suite discovers them itself:
// every two seconds it lists the running Arbees pods and writes their `metrics` ports as file
// service-discovery targets, labelled as kubernetes_sd relabelling would. It listens on the node's
// address, where the operator's pods reach it.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from '../../../cli/local/binaries.js';
import { freePort, startProcess, waitUntilReady } from '../../../cli/local/process.js';

export interface ClusterPrometheus {
  /** As the pods reach it. */
  readonly url: string;
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  stop(): Promise<void>;
}

interface PodList {
  items: Array<{
    metadata: { name: string; namespace: string; labels?: Record<string, string> };
    status?: { phase?: string; podIP?: string };
    spec: { containers: Array<{ ports?: Array<{ name?: string; containerPort: number }> }> };
  }>;
}

/** File service-discovery groups for the running pods' container ports named `metrics`. */
export function podTargets(pods: PodList): object[] {
  return pods.items.flatMap((pod) => {
    if (pod.status?.phase !== 'Running' || !pod.status.podIP) return [];
    const labels = pod.metadata.labels ?? {};
    return pod.spec.containers.flatMap((c) =>
      (c.ports ?? [])
        .filter((p) => p.name === 'metrics')
        .map((p) => ({
          targets: [`${pod.status!.podIP}:${p.containerPort}`],
          labels: { namespace: pod.metadata.namespace, pod: pod.metadata.name, component: labels['app.kubernetes.io/component'] ?? '' },
        })),
    );
  });
}

export async function startClusterPrometheus(dir: string, address: string, listPods: () => Promise<PodList>): Promise<ClusterPrometheus> {
  const binary = requireBinary('prometheus', 'run `apt-get install prometheus` (or `make setup`)');
  const sdDir = join(dir, 'targets');
  mkdirSync(sdDir, { recursive: true });
  const port = await freePort();
  const url = `http://${address}:${port}`;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 900ms }',
      'scrape_configs:',
      '  - job_name: arbees-pods',
      `    file_sd_configs: [{ files: ['${sdDir}/*.json'], refresh_interval: 1s }]`,
      '',
    ].join('\n'),
  );
  const proc = startProcess(
    'prometheus',
    binary,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=${address}:${port}`,
      '--log.level=warn',
    ],
    { logFile: join(dir, 'prometheus.log') },
  );
  await waitUntilReady(proc, async () => (await fetch(`${url}/-/ready`)).ok, 30_000, 'prometheus for the cluster');
  let stopped = false;
  const discover = async () => {
    while (!stopped) {
      try {
        const file = join(sdDir, 'pods.json');
        writeFileSync(`${file}.tmp`, JSON.stringify(podTargets(await listPods())));
        renameSync(`${file}.tmp`, file); // atomic: Prometheus never reads half a file
      } catch {
        // The apiserver restarting or a pod going away: the next round catches up.
      }
      await new Promise((r) => setTimeout(r, 2_000));
    }
  };
  const discovering = discover();
  return {
    url,
    async query(promql) {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      };
      if (body.status !== 'success') throw new Error(`prometheus query failed: ${body.error ?? response.status}`);
      return body.data?.result ?? [];
    },
    stop: async () => {
      stopped = true;
      await discovering;
      await proc.stop();
    },
  };
}
