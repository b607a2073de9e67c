// A real Prometheus server on loopback, scraping every second. Scrape targets are added at run
// time through file-based service discovery, so tests can point it at processes they start.
import { writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary, versionOf } from '../../cli/local/binaries.js';
import { freePort, startProcess, waitUntilReady } from '../../cli/local/process.js';

export interface PrometheusService {
  readonly url: string;
  readonly version: string;
  readonly binary: string;
  /** Starts scraping `host:port` under job `job` with extra labels (replaces that job's targets). */
  setTargets(job: string, targets: string[], labels?: Record<string, string>): void;
  /** Runs an instant PromQL query through the HTTP API. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  stop(): Promise<void>;
}

export async function startPrometheus(dir: string): Promise<PrometheusService> {
  const binary = requireBinary('prometheus', 'run `apt-get install prometheus` (or `make setup`)');
  const version = versionOf(binary).replace(/^prometheus, version (\S+).*$/, '$1');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const sdDir = join(dir, 'targets');
  mkdirSync(sdDir, { recursive: true });
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 900ms }',
      'scrape_configs:',
      '  - job_name: arbees',
      '    file_sd_configs:',
      `      - files: ['${sdDir}/*.json']`,
      '        refresh_interval: 1s',
      '',
    ].join('\n'),
  );
  const proc = startProcess(
    'prometheus',
    binary,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
      '--log.level=warn',
    ],
    { logFile: join(dir, 'prometheus.log') },
  );
  await waitUntilReady(proc, async () => (await fetch(`${url}/-/ready`)).ok, 30_000, `prometheus ${version}`);
  return {
    url,
    version,
    binary,
    setTargets(job, targets, labels = {}) {
      const file = join(sdDir, `${job}.json`);
      writeFileSync(`${file}.tmp`, JSON.stringify([{ targets, labels: { ...labels, source_job: job } }]));
      renameSync(`${file}.tmp`, file); // atomic, so Prometheus never reads half a file
    },
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
    stop: () => proc.stop(),
  };
}
