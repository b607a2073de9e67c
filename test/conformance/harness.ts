// The conformance harness: starts both venue simulators through the `arbees sim` CLI on loopback
// (so it outlives any reshuffle of the simulators' code), runs the venues' official clients against
// them (Kalshi's and Polymarket's Python SDKs in the venv of scripts/setup-conformance.sh, and the
// TypeScript @polymarket/clob-client-v2), and gathers one result per official call.
//
// Credentials are made fresh for each run, written only to a private temporary folder, and handed
// to the clients through files named in their environment: never on a command line or in a report.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { parse } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

export interface CallResult {
  client: string;
  call: string;
  endpoint: string;
  ok: boolean;
  reason: string;
  ms: number;
  note: string;
}

export interface ClientRun {
  client: string;
  sdk: string;
  exitCode: number | null;
  /** The last lines the client printed on stderr (SDK logs carry response bodies, never our keys). */
  stderrTail: string;
}

export interface ConformanceReport {
  startedAt: string;
  python: string;
  scenario: string;
  runs: ClientRun[];
  results: CallResult[];
}

interface Client {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  report: string;
}

const CLIENT_TIMEOUT_MS = 240_000;

function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: root, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** The venv's python from scripts/setup-conformance.sh, or its one-line reason. */
export async function conformancePython(): Promise<string> {
  const { code, stdout, stderr } = await run('bash', [join(root, 'scripts/setup-conformance.sh')]);
  const python = stdout.trim().split('\n').pop() ?? '';
  if (code !== 0 || !python) throw new Error(stderr.trim().split('\n').pop() || `scripts/setup-conformance.sh exited ${code}`);
  return python;
}

function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePromise(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitHttp(url: string, child: ChildProcess, logFile: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`simulator exited ${child.exitCode} before it answered ${url}; log: ${logFile}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`simulator did not answer ${url} within ${timeoutMs} ms; log: ${logFile}`);
}

/** `arbees sim <venue>` from the sources (bin/arbees would run a possibly stale dist/ build). */
function startSim(venue: 'kalshi' | 'polymarket', args: string[], logFile: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'cli/arbees.ts'), 'sim', venue, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

async function stopSim(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000); // its grace to stop cleanly, even on a loaded machine
  await exited;
  clearTimeout(timer);
}

interface ScenarioMarket {
  ticker: string;
  event: string;
  series: string;
  yesToken: string;
  noToken: string;
}

function scenarioMarket(file: string): ScenarioMarket {
  type Game = {
    kalshi: { eventTicker: string; seriesTicker?: string };
    markets: Array<{ kalshi: { ticker: string }; polymarket: { yesTokenId: string; noTokenId: string } }>;
  };
  const game = (parse(readFileSync(file, 'utf8')) as { games: Game[] }).games[0]!;
  const market = game.markets[0]!;
  return {
    ticker: market.kalshi.ticker,
    event: game.kalshi.eventTicker,
    series: game.kalshi.seriesTicker ?? game.kalshi.eventTicker.split('-')[0]!,
    yesToken: market.polymarket.yesTokenId,
    noToken: market.polymarket.noTokenId,
  };
}

function writePrivate(file: string, text: string): string {
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

/** A Polymarket wallet and the L2 API credentials the simulator is told to accept for it. */
function polymarketAccount(dir: string, name: string) {
  const privateKey = generatePrivateKey();
  // The venue issues secrets as URL-safe base64 with '=' padding; the Python client needs the padding.
  const secret = randomBytes(32).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
  const creds = {
    apiKey: randomUUID(),
    secret,
    passphrase: randomBytes(32).toString('hex'),
    address: privateKeyToAccount(privateKey).address,
  };
  return { sim: creds, file: writePrivate(join(dir, `${name}.json`), JSON.stringify({ ...creds, privateKey })) };
}

function readReport(file: string): { sdk?: string; results?: CallResult[] } {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { sdk?: string; results?: CallResult[] };
  } catch {
    return {};
  }
}

/** Runs every official client against fresh simulators; the report also goes to `outDir`. */
export async function runConformance(
  options: { outDir?: string; scenario?: string; log?: (line: string) => void } = {},
): Promise<ConformanceReport> {
  const log = options.log ?? (() => {});
  const scenario = options.scenario ?? join(here, 'scenario.yaml');
  const market = scenarioMarket(scenario);
  const python = await conformancePython();
  const work = mkdtempSync(join(tmpdir(), 'arbees-conformance-'));
  const sims: ChildProcess[] = [];
  const startedAt = new Date().toISOString();
  try {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyId = randomUUID();
    const publicPem = writePrivate(join(work, 'kalshi-public.pem'), publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const privatePem = writePrivate(join(work, 'kalshi-private.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const pyPoly = polymarketAccount(work, 'polymarket-python');
    const tsPoly = polymarketAccount(work, 'polymarket-ts');
    const simCreds = writePrivate(join(work, 'polymarket-sim-creds.json'), JSON.stringify([pyPoly.sim, tsPoly.sim]));

    const [kalshiPort, polyPort] = [await freePort(), await freePort()];
    const kalshiLog = join(work, 'sim-kalshi.log');
    const polyLog = join(work, 'sim-polymarket.log');
    const kalshi = startSim(
      'kalshi',
      ['--key-id', keyId, '--public-key', publicPem, '-s', scenario, '-p', String(kalshiPort), '--log-level', 'warn'],
      kalshiLog,
    );
    const poly = startSim('polymarket', ['--creds', simCreds, '-s', scenario, '-p', String(polyPort), '--log-level', 'warn'], polyLog);
    sims.push(kalshi, poly);
    const kalshiUrl = `http://127.0.0.1:${kalshiPort}/trade-api/v2`;
    const polyUrl = `http://127.0.0.1:${polyPort}`;
    await Promise.all([waitHttp(`${kalshiUrl}/exchange/status`, kalshi, kalshiLog), waitHttp(`${polyUrl}/ok`, poly, polyLog)]);
    log(`simulators up: kalshi ${kalshiUrl}, polymarket ${polyUrl}`);

    const polyEnv = { POLY_URL: polyUrl, POLY_YES_TOKEN: market.yesToken, POLY_NO_TOKEN: market.noToken };
    const clients: Client[] = [
      {
        name: 'kalshi (python)',
        command: python,
        args: [join(here, 'kalshi_sdk.py')],
        env: {
          KALSHI_URL: kalshiUrl,
          KALSHI_KEY_ID: keyId,
          KALSHI_KEY_FILE: privatePem,
          KALSHI_TICKER: market.ticker,
          KALSHI_EVENT: market.event,
          KALSHI_SERIES: market.series,
        },
        report: join(work, 'kalshi-python.json'),
      },
      {
        name: 'polymarket (python)',
        command: python,
        args: [join(here, 'polymarket_sdk.py')],
        env: { ...polyEnv, POLY_CREDS_FILE: pyPoly.file },
        report: join(work, 'polymarket-python.json'),
      },
      {
        name: 'polymarket (typescript)',
        command: process.execPath,
        args: ['--import', 'tsx', join(here, 'polymarket-client.ts')],
        env: { ...polyEnv, POLY_CREDS_FILE: tsPoly.file },
        report: join(work, 'polymarket-typescript.json'),
      },
    ];
    const runs = await Promise.all(
      clients.map(async (client) => {
        const started = Date.now();
        const env = { ...process.env, ...client.env, REPORT: client.report, PYTHONPATH: here, PYTHONDONTWRITEBYTECODE: '1' };
        const result = await run(client.command, client.args, { env, timeoutMs: CLIENT_TIMEOUT_MS });
        log(`${client.name}: exit ${result.code} after ${Math.round((Date.now() - started) / 1000)} s`);
        return { client, result };
      }),
    );

    const results: CallResult[] = [];
    const clientRuns: ClientRun[] = [];
    for (const { client, result } of runs) {
      const report = readReport(client.report);
      const stderrTail = result.stderr.trim().split('\n').slice(-15).join('\n');
      results.push(...(report.results ?? []));
      clientRuns.push({ client: client.name, sdk: report.sdk ?? '', exitCode: result.code, stderrTail });
      // A client that died or was killed has left calls untried: that is a failure of its own.
      if (result.code !== 0) {
        results.push({
          client: client.name,
          call: '(the whole script)',
          endpoint: '',
          ok: false,
          reason: `exited ${result.code}: ${stderrTail.split('\n').pop() ?? ''}`,
          ms: 0,
          note: '',
        });
      }
    }
    const report: ConformanceReport = { startedAt, python, scenario: scenario.replace(root + '/', ''), runs: clientRuns, results };
    if (options.outDir) {
      mkdirSync(options.outDir, { recursive: true });
      writeFileSync(join(options.outDir, 'conformance-report.json'), JSON.stringify(report, null, 2));
      writeFileSync(join(options.outDir, 'conformance-report.txt'), formatTable(results) + '\n');
    }
    return report;
  } finally {
    await Promise.all(sims.map(stopSim));
    if (!process.env.ARBEES_KEEP_CONFORMANCE && existsSync(work)) rmSync(work, { recursive: true, force: true });
  }
}

const clip = (text: string, width: number) => (text.length <= width ? text : text.slice(0, width - 1) + '…');

/** The human table: one row per call, failures with their reason. */
export function formatTable(results: CallResult[]): string {
  const rows = results.map((r) => [r.client, r.call, r.ok ? 'pass' : 'FAIL', r.ok ? r.note : r.reason]);
  const widths = [0, 1].map((i) => Math.max(...rows.map((row) => row[i]!.length), 6));
  const line = (row: string[]) =>
    `${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padEnd(widths[1]!)}  ${row[2]!.padEnd(4)}  ${clip(row[3]!, 160)}`;
  const passed = results.filter((r) => r.ok).length;
  return [
    line(['client', 'call', 'result', 'reason / note']),
    ...rows.map(line),
    `${passed} of ${results.length} official calls pass`,
  ].join('\n');
}

// `node --import tsx test/conformance/harness.ts [OUT_DIR]`: one run, the table on stdout.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ?? join(tmpdir(), 'arbees-conformance');
  runConformance({ outDir, log: (line) => console.error(line) })
    .then((report) => {
      console.log(formatTable(report.results));
      console.log(`report: ${join(outDir, 'conformance-report.json')}`);
      process.exitCode = report.results.every((r) => r.ok) ? 0 : 1;
    })
    .catch((error: unknown) => {
      console.error((error as Error).message);
      process.exitCode = 2;
    });
}
