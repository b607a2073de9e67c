import { expect } from 'chai';
import type { TradingShard } from '../../contracts/trading-shard.js';
import { computeStatus, type DeploymentObservation } from '../../operator/status.js';

const now = new Date('2026-11-24T10:00:00Z');
const later = new Date('2026-11-24T10:05:00Z');

function shard(overrides: Partial<TradingShard['spec']> = {}, generation = 3): TradingShard {
  return {
    apiVersion: 'arbees.io/v1alpha1',
    kind: 'TradingShard',
    metadata: { name: 'nba', namespace: 'trading', generation },
    spec: {
      paused: false,
      markets: [{ id: 'm1', sport: 'nba', kalshi: { ticker: 'K' }, polymarket: { yesTokenId: '1', noTokenId: '2' } }],
      ...overrides,
    } as TradingShard['spec'],
  };
}

const ready = (component: DeploymentObservation['component']): DeploymentObservation => ({
  component,
  generation: 2,
  observedGeneration: 2,
  replicas: 1,
  readyReplicas: 1,
  updatedReplicas: 1,
});
const allReady = () => (['kalshi-monitor', 'polymarket-monitor', 'detector', 'executor'] as const).map(ready);
const cond = (status: ReturnType<typeof computeStatus>, type: string) => status.conditions?.find((c) => c.type === type);

describe('TradingShard status', () => {
  it('is Running and Ready when every component is ready and rolled out', () => {
    const status = computeStatus(shard(), { deployments: allReady(), now });
    expect(status).to.include({ phase: 'Running', observedGeneration: 3, marketCount: 1 });
    expect(cond(status, 'Ready')).to.include({
      status: 'True',
      reason: 'AllComponentsReady',
      observedGeneration: 3,
      lastTransitionTime: '2026-11-24T10:00:00Z',
    });
    expect(cond(status, 'Progressing')).to.include({ status: 'False', reason: 'RolloutComplete' });
    expect(status.components?.executor).to.deep.equal({ replicas: 1, readyReplicas: 1 });
  });

  it('is Pending and Progressing while components are missing or rolling out, naming them', () => {
    const missing = computeStatus(shard(), { deployments: allReady().slice(0, 2), now });
    expect(missing.phase).to.equal('Pending');
    expect(cond(missing, 'Ready')).to.include({ status: 'False', reason: 'ComponentsMissing', message: '2 of 4 components exist' });
    const rolling = allReady();
    rolling[3] = { ...rolling[3]!, generation: 3, updatedReplicas: 0 };
    const status = computeStatus(shard(), { deployments: rolling, now });
    expect(cond(status, 'Progressing')).to.include({ status: 'True', message: 'rolling out: executor' });
    expect(cond(status, 'Ready')).to.include({ status: 'False', message: 'not ready: executor' });
  });

  it('is Degraded with the error when the reconcile failed', () => {
    const status = computeStatus(shard(), { deployments: allReady(), reconcileError: 'admission webhook denied', now });
    expect(status.phase).to.equal('Degraded');
    expect(cond(status, 'Degraded')).to.include({ status: 'True', reason: 'ReconcileFailed', message: 'admission webhook denied' });
  });

  it('is Halted when paused, whatever the components do', () => {
    const status = computeStatus(shard({ paused: true }), { deployments: allReady(), now });
    expect(status.phase).to.equal('Halted');
    expect(cond(status, 'TradingPaused')).to.include({ status: 'True', reason: 'PausedBySpec' });
  });

  it('moves lastTransitionTime only when a condition flips', () => {
    const first = computeStatus(shard(), { deployments: allReady(), now });
    const same = computeStatus({ ...shard(), status: first }, { deployments: allReady(), now: later });
    expect(cond(same, 'Ready')!.lastTransitionTime).to.equal('2026-11-24T10:00:00Z');
    const flipped = computeStatus({ ...shard(), status: first }, { deployments: allReady().slice(1), now: later });
    expect(cond(flipped, 'Ready')!.lastTransitionTime).to.equal('2026-11-24T10:05:00Z');
  });
});
