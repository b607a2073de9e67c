// The demo's stand-in for the operator's circuit breaker: the same pure state machine and the same
// Redis control key, fed by the processes' /metrics instead of a Prometheus server (the demo runs
// no cluster). Each rule names the PromQL the chart's default rules use for the same check.
import { step, type BreakerConfig, type BreakerSnapshot, type Reading, type Step } from '../../operator/breaker/machine.js';
import { sumBy, type Sample } from './metrics-text.js';

export function demoBreakerConfig(dailyLossUsd: number): BreakerConfig {
  return {
    rules: [
      { name: 'stale-market-data', query: 'max by (venue) (arbees_stale_books)', op: '>', threshold: 0, for: '1s' },
      { name: 'vpn-down', query: 'min(arbees_vpn_up)', op: '<', threshold: 1, for: '2s' },
      { name: 'daily-loss', query: 'max(arbees_daily_loss_usd)', op: '>=', threshold: Math.round(dailyLossUsd * 0.8), for: '0s' },
    ],
    halfOpenAfter: '3s',
    cooldown: '5s',
    onPrometheusUnavailable: 'open',
  };
}

/** Where each rule's values come from; a process that did not answer makes its rules unreadable. */
export interface Scrapes {
  kalshiMonitor?: Sample[];
  polymarketMonitor?: Sample[];
  executor?: Sample[];
}

export function readings(scrapes: Scrapes): Record<string, Reading> {
  const unread = (what: string): Reading => ({ error: `${what} /metrics did not answer` });
  const { kalshiMonitor: k, polymarketMonitor: p, executor: e } = scrapes;
  return {
    'stale-market-data':
      k && p
        ? { values: [...Object.values(sumBy(k, 'arbees_stale_books', 'venue')), ...Object.values(sumBy(p, 'arbees_stale_books', 'venue'))] }
        : unread(k ? 'polymarket-monitor' : 'kalshi-monitor'),
    'vpn-down': p ? { values: p.filter((s) => s.name === 'arbees_vpn_up').map((s) => s.value) } : unread('polymarket-monitor'),
    'daily-loss': e ? { values: e.filter((s) => s.name === 'arbees_daily_loss_usd').map((s) => s.value) } : unread('executor'),
  };
}

export function advance(config: BreakerConfig, previous: BreakerSnapshot, scrapes: Scrapes, now: number): Step {
  return step(config, previous, readings(scrapes), now);
}
