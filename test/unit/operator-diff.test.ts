import { expect } from 'chai';
import { containsDesired } from '../../operator/diff.js';

describe('operator drift check (containsDesired)', () => {
  const desired = {
    metadata: { name: 'a', labels: { app: 'x' } },
    spec: { replicas: 1, template: { spec: { containers: [{ name: 'c', image: 'img:1', ports: [{ containerPort: 9464 }] }] } } },
  };
  const live = {
    metadata: { name: 'a', labels: { app: 'x', extra: 'by-someone' }, uid: 'u', resourceVersion: '7' },
    spec: {
      replicas: 1,
      revisionHistoryLimit: 10,
      template: {
        spec: {
          containers: [
            {
              name: 'c',
              image: 'img:1',
              ports: [{ containerPort: 9464, protocol: 'TCP' }],
              terminationMessagePath: '/dev/termination-log',
            },
          ],
        },
      },
    },
    status: { readyReplicas: 1 },
  };

  it('accepts a live object that holds everything desired plus server defaults', () => {
    expect(containsDesired(desired, live)).to.equal(true);
  });

  it('spots a changed value, a missing field, and a list of another length', () => {
    const changed = structuredClone(live);
    changed.spec.template.spec.containers[0]!.image = 'img:2';
    expect(containsDesired(desired, changed)).to.equal(false);
    const missing = structuredClone(live) as Record<string, unknown> & typeof live;
    delete (missing.metadata.labels as Record<string, string | undefined>).app;
    expect(containsDesired(desired, missing)).to.equal(false);
    const longer = structuredClone(live);
    longer.spec.template.spec.containers.push({ ...longer.spec.template.spec.containers[0]!, name: 'injected' });
    expect(containsDesired(desired, longer)).to.equal(false);
  });

  it('treats types strictly (a string "1" is not the number 1)', () => {
    expect(containsDesired({ a: 1 }, { a: '1' })).to.equal(false);
    expect(containsDesired({ a: [1] }, { a: { 0: 1 } })).to.equal(false);
    expect(containsDesired({ a: null }, { a: null })).to.equal(true);
  });
});
