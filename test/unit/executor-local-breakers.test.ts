// The executor's own breakers: they open on the event itself (no Prometheus round), stop new
// signals for their cool-down, and show on /metrics.
import { expect } from 'chai';
import { LocalBreakers } from '../../workloads/executor/local-breakers.js';
import { createExecutorMetrics } from '../../workloads/executor/metrics.js';

const settings = { latency: { maxOrderRttMs: 2_000, cooldownMs: 60_000 }, venueErrors: { maxConsecutive: 3, cooldownMs: 30_000 } };

describe('executor local breakers', () => {
  it('a round trip over the limit opens the latency breaker at once, for its cool-down', () => {
    const b = new LocalBreakers(settings);
    expect(b.roundTrip(2_000, 0)).to.equal(false); // at the limit is fine
    expect(b.open(0)).to.equal(undefined);
    expect(b.roundTrip(2_001, 1_000)).to.equal(true);
    expect(b.open(1_000)).to.deep.equal({ rule: 'latency-breaker', until: 61_000 });
    expect(b.open(60_999)?.rule).to.equal('latency-breaker');
    expect(b.open(61_000)).to.equal(undefined);
  });

  it('opens on consecutive venue failures only; an answer in between resets the run', () => {
    const b = new LocalBreakers(settings);
    b.venueError(0);
    b.venueError(1);
    b.venueAnswered(); // e.g. a fill or a rejection: the venue is there
    expect(b.venueError(2)).to.equal(false);
    expect(b.venueError(3)).to.equal(false);
    expect(b.open(3)).to.equal(undefined);
    expect(b.venueError(4)).to.equal(true);
    expect(b.open(5)).to.deep.equal({ rule: 'venue-error-breaker', until: 30_004 });
    expect(b.states(5)).to.deep.equal({ latency: 0, venue_errors: 1 });
    expect(b.states(30_004)).to.deep.equal({ latency: 0, venue_errors: 0 });
  });

  it('shows each breaker as arbees_executor_local_breaker_open{breaker}', async () => {
    const metrics = createExecutorMetrics('s1');
    const b = new LocalBreakers(settings);
    let now = 0;
    metrics.onCollectLocalBreakers(() => b.states(now));
    b.roundTrip(5_000, now);
    const text = await metrics.registry.metrics();
    expect(text).to.contain('arbees_executor_local_breaker_open{breaker="latency",shard="s1"} 1');
    expect(text).to.contain('arbees_executor_local_breaker_open{breaker="venue_errors",shard="s1"} 0');
    now = 60_000;
    expect(await metrics.registry.metrics()).to.contain('arbees_executor_local_breaker_open{breaker="latency",shard="s1"} 0');
  });
});
