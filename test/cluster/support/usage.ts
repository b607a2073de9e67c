// Every pod's memory and CPU over the run, from the kubelet's own stats (/stats/summary), against
// the requests and limits of its spec; and every container restart seen, with its reason (an OOM
// kill, a failing probe).
import type { ClusterService } from '../../rig/node.js';

interface PodSpec {
  metadata: { name: string; namespace: string };
  spec: { containers: Array<{ name: string; resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }> };
  status?: { containerStatuses?: Array<{ name: string; restartCount: number; lastState?: { terminated?: { reason?: string } } }> };
}

export interface UsageRow {
  pod: string;
  container: string;
  peakMiB: number;
  peakCpuMillicores: number;
  requestMemory?: string;
  limitMemory?: string;
  requestCpu?: string;
}

const mib = (bytes: number) => bytes / (1 << 20);

/** "256Mi" / "1Gi" / "134217728" in MiB. */
export function quantityMiB(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi)?$/.exec(quantity);
  if (!match) throw new Error(`unsupported quantity ${quantity}`);
  const scale = { Ki: 1 / 1024, Mi: 1, Gi: 1024 }[match[2] as 'Ki' | 'Mi' | 'Gi'] ?? 1 / (1 << 20);
  return Number(match[1]) * scale;
}

type ListPods = () => Promise<{ items: PodSpec[] }>;

/** The last lines a restarted container wrote before it died (kubectl logs --previous). */
type PreviousLogs = (namespace: string, pod: string, container: string) => Promise<string>;

export function startUsageSampler(cluster: ClusterService, listPods: ListPods, previousLogs: PreviousLogs, everyMs = 3_000) {
  const peaks = new Map<string, { memory: number; cpu: number }>();
  const specs = new Map<string, PodSpec['spec']['containers'][number]>();
  const restarts: string[] = [];
  let stopped = false;
  const sample = async () => {
    const [stats, pods] = await Promise.all([cluster.kubeletStats(), listPods()]);
    for (const pod of stats.pods) {
      for (const c of pod.containers ?? []) {
        const key = `${pod.podRef.namespace}/${pod.podRef.name}/${c.name}`;
        const peak = peaks.get(key) ?? { memory: 0, cpu: 0 };
        peak.memory = Math.max(peak.memory, c.memory?.workingSetBytes ?? 0);
        peak.cpu = Math.max(peak.cpu, (c.cpu?.usageNanoCores ?? 0) / 1e6);
        peaks.set(key, peak);
      }
    }
    for (const pod of pods.items) {
      for (const c of pod.spec.containers) specs.set(`${pod.metadata.namespace}/${pod.metadata.name}/${c.name}`, c);
      for (const s of pod.status?.containerStatuses ?? []) {
        if (s.restartCount === 0) continue;
        const reason = s.lastState?.terminated?.reason ?? '?';
        const seen = `${pod.metadata.namespace}/${pod.metadata.name}/${s.name}: ${s.restartCount} (${reason})`;
        if (restarts.includes(seen)) continue;
        restarts.push(seen);
        const tail = await previousLogs(pod.metadata.namespace, pod.metadata.name, s.name).catch((e: Error) => e.message);
        process.stderr.write(`    container restarted: ${seen}; its last lines:\n${tail.replace(/^/gm, '      ')}\n`);
      }
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await sample().catch(() => undefined); // a pod going away between the two reads
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    /** Container restarts seen so far, as "namespace/pod/container: count (reason)". */
    restarts: () => [...restarts],
    rows(): UsageRow[] {
      return [...peaks.entries()]
        .map(([key, peak]) => {
          const [namespace, pod, container] = key.split('/') as [string, string, string];
          const spec = specs.get(key)?.resources;
          return {
            pod: `${namespace}/${pod}`,
            container,
            peakMiB: Math.round(mib(peak.memory)),
            peakCpuMillicores: Math.round(peak.cpu),
            requestMemory: spec?.requests?.memory,
            limitMemory: spec?.limits?.memory,
            requestCpu: spec?.requests?.cpu,
          };
        })
        .sort((a, b) => a.pod.localeCompare(b.pod));
    },
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}
