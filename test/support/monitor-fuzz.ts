// The monitors' fuzz run, shared by test/integration/monitor-fuzz.test.ts (short) and
// bench/monitor-fuzz.bench.ts (long): a hostile venue (hostile-venue.ts), the monitor as its own
// process (`arbees <venue>-monitor`, as in its pod), and an auditor reading every quote it
// publishes to Redis. For each fault class: faults interleaved with valid traffic, then valid
// traffic until every book is fresh again and equal to the venue's truth. It records what was sent
// per class, the monitor's peak RSS (sampled, and the kernel's high-water mark), the monitor's
// counters, and every insane quote. Waits are on conditions, never on fixed sleeps.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startProcess, freePort, type ManagedProcess } from '../../cli/local/process.js';
import { MAX_SIZE } from '../../contracts/decimal.js';
import { credentialEnv, shardConfigPathEnv, type ShardConfig } from '../../contracts/shard-config.js';
import { quoteSchema, streamKeys, type Quote } from '../../contracts/messages.js';
import { MAX_CLOCK_SKEW_MS } from '../../workloads/market-data/bounds.js';
import { QUOTE_FIELD } from '../../workloads/market-data/publisher.js';
import { KALSHI_MAX_PAYLOAD } from '../../workloads/kalshi-monitor/service.js';
import { POLYMARKET_MAX_PAYLOAD } from '../../workloads/polymarket-monitor/service.js';
import { kalshiPriceBounds } from '../../venues/kalshi/wire.js';
import { polymarketPriceBounds } from '../../venues/polymarket/wire.js';
import { CLASS_MEANING, FAULT_CLASSES, HostileVenue, type FaultClass, type FuzzVenue, type View } from './hostile-venue.js';
import { waitFor } from './wait.js';

/** The monitors' pod memory limit (operator/builders/deployments.ts). */
export const POD_LIMIT_BYTES = 256 * 1024 * 1024;
const REPO = join(import.meta.dirname, '..', '..');
const DEPTH = 10;
/** Short, so that silences are noticed quickly; longer than the crossed-book grace (1 s). */
const QUIET_MS = 2_000;

export interface ClassResult {
  cls: FaultClass;
  /** Fault messages of the class (silence: periods; oversized: frames). */
  faults: number;
  /** Valid messages sent during the class and its recovery. */
  valid: number;
  /** Highest RSS sampled during the class, bytes. */
  peakRss: number;
  /** Until every book was fresh and equal to the truth again, ms. */
  recoveryMs: number;
}

export interface FuzzResult {
  venue: FuzzVenue;
  classes: ClassResult[];
  /** Every message sent, by class and kind. */
  sent: Record<string, number>;
  /** The kernel's high-water mark of the monitor's RSS (VmHWM), bytes. */
  peakRssHwm: number;
  quotes: { total: number; fresh: number; stale: number };
  violations: string[];
  metrics: Record<string, number>;
  exitCode: number | null;
  connections: number;
}

/** Checks every quote the monitor publishes, as a consumer would read them. */
class QuoteAuditor {
  total = 0;
  fresh = 0;
  stale = 0;
  readonly violations: string[] = [];
  readonly latest = new Map<string, Quote>();
  private lastId = '0-0';
  private running = true;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly venue: HostileVenue,
  ) {}

  start(): void {
    this.loop = (async () => {
      while (this.running) {
        const oldest = await this.redis.xrange(this.key, '-', '+', 'COUNT', 1);
        if (this.lastId !== '0-0' && oldest[0] && compareIds(oldest[0][0], this.lastId) > 0)
          this.violation(`the auditor fell behind: entries after ${this.lastId} were trimmed unread`);
        const reply = await this.redis.xread('COUNT', 5_000, 'BLOCK', 100, 'STREAMS', this.key, this.lastId);
        for (const [id, fields] of reply?.[0]?.[1] ?? []) {
          this.lastId = id;
          this.check(fields[fields.indexOf(QUOTE_FIELD) + 1] ?? '');
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop?.catch(() => undefined);
    this.redis.disconnect();
  }

  /** Reads up to what is in the stream now. */
  async caughtUp(): Promise<boolean> {
    const last = await this.redis.xrevrange(this.key, '+', '-', 'COUNT', 1);
    return !last[0] || compareIds(last[0][0], this.lastId) <= 0;
  }

  private violation(text: string): void {
    if (this.violations.length < 20) this.violations.push(text);
  }

  private check(json: string): void {
    this.total++;
    const parsed = quoteSchema.safeParse(JSON.parse(json));
    if (!parsed.success) return this.violation(`schema: ${parsed.error.issues[0]?.message}: ${json.slice(0, 200)}`);
    const q = parsed.data;
    const key = `${q.venue}/${q.marketId}/${q.outcome}`;
    this.latest.set(key, q);
    if (q.stale) return void this.stale++;
    this.fresh++;
    const problem = insane(q);
    if (problem) return this.violation(`fresh but ${problem}: ${json.slice(0, 300)}`);
    if (!this.venue.showed(key, q)) this.violation(`fresh, but a book the venue never showed: ${json.slice(0, 300)}`);
  }
}

const compareIds = (a: string, b: string): number => {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am - bm || as - bs;
};

/** What a fresh quote must be: priced within the venue's ticks, ordered, uncrossed, sized, timed near our clock. */
export function insane(q: Quote): string | undefined {
  const bounds = q.venue === 'kalshi' ? kalshiPriceBounds : polymarketPriceBounds;
  for (const [name, side, better] of [
    ['bids', q.bids, (a: number, b: number) => a > b],
    ['asks', q.asks, (a: number, b: number) => a < b],
  ] as const) {
    for (let i = 0; i < side.length; i++) {
      const [price, size] = side[i]!;
      if (!(price >= bounds.min && price <= bounds.max)) return `${name} priced ${price}`;
      if (!(Number.isSafeInteger(size) && size > 0 && size <= MAX_SIZE)) return `${name} sized ${size}`;
      if (i > 0 && !better(side[i - 1]![0], price)) return `${name} out of order`;
    }
  }
  if (q.bids[0] && q.asks[0] && q.bids[0][0] >= q.asks[0][0]) return 'crossed';
  if (Math.abs(q.exchangeTs - q.receivedTs) > MAX_CLOCK_SKEW_MS) return `exchangeTs ${q.exchangeTs} far from receivedTs ${q.receivedTs}`;
  return undefined;
}

/** VmRSS and VmHWM of a process, bytes. */
function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** The monitor's counters from /metrics, summed by name{labels}. */
async function scrape(metricsUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(arbees_[a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!m) continue;
    const labels = (m[2] ?? '')
      .replace(/,?shard="[^"]*"/, '')
      .replace(/,?venue="[^"]*"/, '')
      .replace('{,', '{');
    const name = `${m[1]}${labels === '{}' ? '' : labels}`;
    out[name] = (out[name] ?? 0) + Number(m[3]);
  }
  return out;
}

export interface FuzzOptions {
  venue: FuzzVenue;
  redisUrl: string;
  /** Messages per fault class (faults and the valid traffic between them). */
  perClass: number;
  seed: number;
  workDir: string;
  /** Default: every class, in FAULT_CLASSES order. */
  classes?: readonly FaultClass[];
  progress?: (line: string) => void;
}

/** The monitor as its pod runs it: `arbees <venue>-monitor` with the shard config and the env. */
async function startMonitor(o: FuzzOptions, venue: HostileVenue, shard: string): Promise<{ proc: ManagedProcess; ops: string }> {
  const config: ShardConfig = {
    shard,
    markets: venue.markets.map((m, i) => ({
      id: m.marketId,
      sport: 'nba',
      game: `g${i}`,
      kalshi: { ticker: m.ticker },
      polymarket: { yesTokenId: m.yesToken, noTokenId: m.noToken },
    })),
    venues: {
      kalshi: { environment: 'demo', restUrl: venue.url, wsUrl: venue.wsUrl },
      polymarket: { clobUrl: venue.url, wsUrl: venue.wsUrl, gammaUrl: venue.url },
    },
    detector: { minEdgeBps: 50, maxQuoteAgeMs: 60_000, cooldownMs: 1_000 },
    executor: {
      mode: 'paper',
      bankrollUsd: 1_000,
      limits: { perGameUsd: 100, perSportUsd: 200, dailyLossUsd: 50, maxOpenPositions: 3, maxOrderUsd: 50 },
    },
  };
  const shardPath = join(o.workDir, `${shard}.json`);
  writeFileSync(shardPath, JSON.stringify(config));
  const port = await freePort();
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ARBEES_SHARD: shard,
    ARBEES_REDIS_URL: o.redisUrl,
    ARBEES_HTTP_PORT: String(port),
    ARBEES_LOG_LEVEL: 'info',
    [shardConfigPathEnv]: shardPath,
    ...(o.venue === 'kalshi' ? { [credentialEnv.kalshi.keyId]: 'fuzz', [credentialEnv.kalshi.privateKey]: key } : {}),
  };
  const args = [
    '--import',
    'tsx',
    join(REPO, 'cli', 'arbees.ts'),
    `${o.venue}-monitor`,
    '--quiet-ms',
    String(QUIET_MS),
    '--stream-maxlen',
    '500000',
    ...(o.venue === 'polymarket' ? ['--vpn-probe-interval-ms', '5000'] : []),
  ];
  const proc = startProcess(`${o.venue}-monitor`, process.execPath, args, {
    logFile: join(o.workDir, `${o.venue}-monitor.log`),
    env,
    cwd: REPO,
  });
  return { proc, ops: `http://127.0.0.1:${port}` };
}

async function readyStatus(ops: string): Promise<number> {
  try {
    return (await fetch(`${ops}/readyz`)).status;
  } catch {
    return 0;
  }
}

/** One venue's whole fuzz run. */
export async function fuzzMonitor(o: FuzzOptions): Promise<FuzzResult> {
  const progress = o.progress ?? (() => undefined);
  const maxPayload = o.venue === 'kalshi' ? KALSHI_MAX_PAYLOAD : POLYMARKET_MAX_PAYLOAD;
  const venue = new HostileVenue({ venue: o.venue, seed: o.seed, maxPayload, depth: DEPTH });
  await venue.start();
  const shard = `fuzz-${o.venue}-${randomBytes(3).toString('hex')}`;
  const redis = new Redis(o.redisUrl);
  const auditor = new QuoteAuditor(redis.duplicate(), streamKeys.quotes(shard), venue);
  const { proc, ops } = await startMonitor(o, venue, shard);
  const pid = proc.child.pid!;
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, memory(pid).rss);
    } catch {
      /* exited: reported below */
    }
  }, 50);
  const alive = () => {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null)
      throw new Error(`the ${o.venue} monitor exited (${proc.child.exitCode ?? proc.child.signalCode}); log:\n${proc.logTail(30)}`);
  };
  const classes: ClassResult[] = [];
  try {
    auditor.start();
    await waitFor(`the ${o.venue} monitor ready`, async () => (alive(), (await readyStatus(ops)) === 200), 60_000);
    for (const cls of o.classes ?? FAULT_CLASSES) {
      peak = 0;
      const validBefore = venue.sent.get('valid') ?? 0;
      const faultsBefore = venue.sent.get(cls === 'silence' ? 'silence:periods' : cls) ?? 0;
      const stallsBefore = (await scrape(`${ops}/metrics`)).arbees_feed_stalls_total ?? 0;
      await venue.run(cls, o.perClass, {
        // The monitor must notice by itself: a stall counted and /readyz 503, while the venue says nothing.
        silenced: () =>
          waitFor(
            `the ${o.venue} monitor to notice the silence`,
            async () => (
              alive(),
              ((await scrape(`${ops}/metrics`)).arbees_feed_stalls_total ?? 0) > stallsBefore && (await readyStatus(ops)) === 503
            ),
            30_000,
          ).then(() => undefined),
      });
      alive();
      const started = Date.now();
      await recovered(venue, auditor, alive);
      classes.push({
        cls,
        faults: (venue.sent.get(cls === 'silence' ? 'silence:periods' : cls) ?? 0) - faultsBefore,
        valid: (venue.sent.get('valid') ?? 0) - validBefore,
        peakRss: Math.max(peak, memory(pid).rss),
        recoveryMs: Date.now() - started,
      });
      const last = classes.at(-1)!;
      progress(
        `${o.venue} ${cls}: ${last.faults} faults, ${last.valid} valid, peak RSS ${mib(last.peakRss)}, recovered in ${last.recoveryMs} ms`,
      );
      if (cls === 'oversized_frames') venue.forgetBigFrames();
    }
    alive();
    const metrics = await scrape(`${ops}/metrics`);
    const peakRssHwm = memory(pid).hwm;
    await proc.stop('SIGTERM', 15_000);
    return {
      venue: o.venue,
      classes,
      sent: Object.fromEntries(venue.sent),
      peakRssHwm,
      quotes: { total: auditor.total, fresh: auditor.fresh, stale: auditor.stale },
      violations: auditor.violations,
      metrics,
      exitCode: proc.child.exitCode,
      connections: venue.connections,
    };
  } finally {
    clearInterval(sampler);
    await proc.stop('SIGKILL').catch(() => undefined);
    await auditor.stop();
    redis.disconnect();
    await venue.stop();
  }
}

/**
 * Valid traffic until every book's latest quote is fresh and shows the truth. The venue is then
 * quiet; a quiet period that passes meanwhile only makes the monitor ask for the books again.
 */
async function recovered(venue: HostileVenue, auditor: QuoteAuditor, alive: () => void): Promise<void> {
  await venue.run('valid', 200);
  let missing = '';
  await waitFor(
    `every ${venue.venue} book fresh and equal to the venue's`,
    async () => {
      alive();
      if (!(await auditor.caughtUp())) return false;
      for (const m of venue.markets) {
        const views = venue.views(m);
        for (const outcome of ['yes', 'no'] as const) {
          const q = auditor.latest.get(venue.bookKey(m, outcome));
          const want: View = views[outcome];
          if (!q || q.stale || JSON.stringify([q.bids, q.asks]) !== JSON.stringify([want.bids, want.asks])) {
            missing = `${venue.bookKey(m, outcome)}: ${q ? (q.stale ? 'stale' : 'differs') : 'none'}`;
            return false;
          }
        }
      }
      return true;
    },
    60_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message} (${missing})`);
  });
}

export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** The table both runs print: messages per class, peak RSS, recovery. */
export function report(r: FuzzResult): string {
  const rows = r.classes.map(
    (c) =>
      `  ${c.cls.padEnd(17)} ${CLASS_MEANING[c.cls][r.venue].padEnd(36)} ` +
      `${String(c.faults).padStart(8)} faults ${String(c.valid).padStart(9)} valid` +
      `   peak RSS ${mib(c.peakRss).padStart(10)}   recovered in ${c.recoveryMs} ms`,
  );
  const total = Object.entries(r.sent)
    .filter(([k]) => !k.includes(':'))
    .reduce((sum, [, n]) => sum + n, 0);
  const oversized = Object.entries(r.sent)
    .filter(([k]) => k.startsWith('oversized:'))
    .map(([k, n]) => `${k.slice(10)} ×${n}`)
    .join(', ');
  return [
    `${r.venue} monitor: ${total} messages sent over ${r.connections} connections; ${r.quotes.total} quotes read ` +
      `(${r.quotes.fresh} fresh, ${r.quotes.stale} stale); peak RSS ${mib(r.peakRssHwm)} (VmHWM), pod limit ${mib(POD_LIMIT_BYTES)}`,
    ...rows,
    `  oversized frames: ${oversized}`,
    `  violations: ${r.violations.length === 0 ? 'none' : r.violations.join(' | ')}`,
  ].join('\n');
}
