// Market discovery for shards with spec.discovery: on an interval, finds the sports' games on both
// venues and matches them team by team (venues/discovery), and records the matches
// in status.discovery with a field manager of its own. The reconciler adds them to the shard's
// config (builders/config-map.ts), which rolls the pods onto the new markets.
import type { Logger } from 'pino';
import type { MarketSpec, TradingShard, TradingShardStatus } from '../contracts/trading-shard.js';
import type { OperatorSettings } from './builders/settings.js';
import type { EventRecorder } from './events.js';
import type { KubeClient, KubeObject } from './kube/client.js';
import { discoverMarkets, type DiscoveryOptions } from '../venues/discovery/fetch.js';
import type { MatchResult } from '../venues/discovery/match.js';

export const discoveryFieldManager = 'arbees-operator-discovery';
/** The CRD's limit on status.discovery.markets. */
const maxMarkets = 200;

type Shard = TradingShard & KubeObject;

export class DiscoveryController {
  constructor(
    private readonly deps: {
      client: KubeClient;
      settings: OperatorSettings;
      events: EventRecorder;
      log: Logger;
      intervalMs: number;
      now?: () => number;
      discover?: (options: DiscoveryOptions) => Promise<MatchResult>;
    },
  ) {}

  /** Runs discovery for every due shard, one at a time: each run lists every open game of its sports on both venues. */
  async evaluateAll(shards: Shard[]): Promise<void> {
    for (const shard of shards) {
      await this.evaluate(shard).catch((error: unknown) =>
        this.deps.log.error({ err: error, shard: `${shard.metadata.namespace}/${shard.metadata.name}` }, 'market discovery failed'),
      );
    }
  }

  /** Runs discovery for one shard when it is due (never ran, or ran intervalMs ago). */
  async evaluate(shard: Shard): Promise<void> {
    const wanted = shard.spec.discovery;
    if (!wanted || shard.metadata.deletionTimestamp) return;
    const now = this.deps.now?.() ?? Date.now();
    const previous = shard.status?.discovery;
    if (previous && now - Date.parse(previous.lastRun) < this.deps.intervalMs) return;
    const kalshi = this.deps.settings.venues.kalshi[shard.spec.venues.kalshi.environment];
    const discover = this.deps.discover ?? discoverMarkets;
    let status: NonNullable<TradingShardStatus['discovery']>;
    try {
      const result = await discover({
        kalshiRestUrl: kalshi.restUrl,
        gammaUrl: this.deps.settings.venues.polymarket.gammaUrl,
        sports: [...wanted.sports],
        lookaheadHours: wanted.lookaheadHours,
        now,
      });
      const markets: MarketSpec[] = result.markets.slice(0, maxMarkets).map((m) => ({ ...m, sport: m.sport }));
      status = { lastRun: new Date(now).toISOString(), unmatched: result.unmatched.length, markets };
      for (const u of result.unmatched)
        this.deps.log.info({ shard: shard.metadata.name, venue: u.venue, ref: u.ref, reason: u.reason }, 'discovery: not matched');
      const before = new Set((previous?.markets ?? []).map((m) => m.id));
      const after = new Set(markets.map((m) => m.id));
      const added = markets.filter((m) => !before.has(m.id)).length;
      const removed = [...before].filter((id) => !after.has(id)).length;
      if (added > 0 || removed > 0 || previous?.message) {
        await this.deps.events.record(
          shard,
          'Normal',
          'MarketsDiscovered',
          `${markets.length} markets matched (+${added} −${removed}); ${result.unmatched.length} listings left out as uncertain`,
        );
      }
      if (result.markets.length > maxMarkets)
        this.deps.log.warn(
          { shard: shard.metadata.name, found: result.markets.length },
          `discovery: keeping the first ${maxMarkets} markets`,
        );
    } catch (error) {
      const message = (error as Error).message.slice(0, 4000);
      status = { lastRun: new Date(now).toISOString(), message, unmatched: previous?.unmatched ?? 0, markets: previous?.markets ?? [] };
      this.deps.log.warn({ shard: shard.metadata.name, err: message }, 'discovery failed; keeping the previous matches');
      await this.deps.events.record(shard, 'Warning', 'DiscoveryFailed', message);
    }
    await this.deps.client.apply(
      {
        apiVersion: shard.apiVersion,
        kind: shard.kind,
        metadata: { name: shard.metadata.name, namespace: shard.metadata.namespace },
        status: { discovery: status },
      },
      discoveryFieldManager,
      { subresource: 'status' },
    );
  }
}
