// The venue clients of a live executor, or a refusal naming what is missing. Real money needs two
// switches (the shard's executor.mode and ARBEES_LIVE_TRADING_AUTHORIZED), complete credentials,
// and for Polymarket the VPN pod's proxy, so that its traffic never leaves outside the tunnel.
import type { Logger } from 'pino';
import type pg from 'pg';
import type { Venue } from '../../contracts/messages.js';
import { credentialEnv, polymarketProxyEnv, type ShardConfig, liveTradingAuthorizedEnv } from '../../contracts/shard-config.js';
import { loadKalshiPrivateKey } from '../../venues/kalshi/auth.js';
import { KalshiClient } from '../../venues/kalshi/orders.js';
import type { VenueClient } from '../../venues/orders.js';

/** Set by the operator only where the cluster owner authorized live trading. */
export const LIVE_AUTHORIZED_ENV = liveTradingAuthorizedEnv;

export class LiveTradingRefused extends Error {}

/** Kalshi always; Polymarket when all its credentials are given (none: its signals are refused). */
export async function liveVenues(
  shardConfig: ShardConfig,
  env: NodeJS.ProcessEnv,
  pool: pg.Pool,
  log: Logger,
): Promise<Partial<Record<Venue, VenueClient>>> {
  if (env[LIVE_AUTHORIZED_ENV] !== 'true') {
    throw new LiveTradingRefused(
      `the shard is in live mode but ${LIVE_AUTHORIZED_ENV} is not "true": refusing to trade real money (two switches are required)`,
    );
  }
  const keyId = env[credentialEnv.kalshi.keyId];
  const privateKey = env[credentialEnv.kalshi.privateKey];
  if (!keyId || !privateKey)
    throw new LiveTradingRefused(`live Kalshi needs ${credentialEnv.kalshi.keyId} and ${credentialEnv.kalshi.privateKey}`);
  let key;
  try {
    key = loadKalshiPrivateKey(privateKey, credentialEnv.kalshi.privateKey);
  } catch (error) {
    throw new LiveTradingRefused((error as Error).message);
  }
  const venues: Partial<Record<Venue, VenueClient>> = {
    kalshi: new KalshiClient({ restUrl: shardConfig.venues.kalshi.restUrl, credentials: { keyId, privateKey: key } }),
  };

  const names = credentialEnv.polymarket;
  const given = Object.values(names).filter((name) => env[name]);
  if (given.length === 0) {
    log.warn('no Polymarket credentials: signals with a Polymarket leg are refused (rule venue-unavailable)');
    return venues;
  }
  const missing = Object.values(names).filter((name) => !env[name]);
  if (missing.length > 0) throw new LiveTradingRefused(`live Polymarket needs ${missing.join(', ')} as well`);
  const proxyUrl = env[polymarketProxyEnv];
  if (!proxyUrl)
    throw new LiveTradingRefused(
      `live Polymarket needs ${polymarketProxyEnv} (the VPN pod's proxy): its traffic must never leave outside the tunnel`,
    );
  // Loaded only here: the official client and its crypto are heavy and only live trading needs them.
  const { PolymarketClient } = await import('../../venues/polymarket/orders.js');
  venues.polymarket = new PolymarketClient({
    clobUrl: shardConfig.venues.polymarket.clobUrl,
    proxyUrl,
    pool,
    credentials: {
      apiKey: env[names.apiKey]!,
      secret: env[names.apiSecret]!,
      passphrase: env[names.apiPassphrase]!,
      privateKey: env[names.privateKey]!,
    },
  });
  return venues;
}
