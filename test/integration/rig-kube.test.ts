// Proves the rig runs a real kube-apiserver: a CRD is served, its objects stored in etcd and
// validated against the OpenAPI schema, through @kubernetes/client-node.
import { expect } from 'chai';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, VersionApi, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { rig } from '../rig/index.js';

const group = 'rigtest.arbees.io';
const crd: V1CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `widgets.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['size'],
                // client-node's model spells `enum` as `_enum`
                properties: { size: { type: 'integer', minimum: 1, maximum: 10 }, color: { type: 'string', _enum: ['red', 'blue'] } },
              },
            },
          },
        },
      },
    ],
  },
};

async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('rig: Kubernetes API server', function () {
  this.timeout(900_000); // a first run on a fresh machine builds the binaries

  it('reports a pinned release version', async () => {
    const kube = await rig.kube();
    const version = await kube.kubeConfig.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).to.match(/^v1\.(3[1-9]|[4-9]\d)\.\d+$/);
    expect(version.gitVersion).to.equal(kube.version);
  });

  it('serves a CRD, stores a custom object and rejects one that violates the schema', async function () {
    this.timeout(60_000);
    const kube = await rig.kube();
    const extensions = kube.kubeConfig.makeApiClient(ApiextensionsV1Api);
    const objects = kube.kubeConfig.makeApiClient(CustomObjectsApi);
    await extensions.createCustomResourceDefinition({ body: crd });
    await eventually(async () => {
      const got = await extensions.readCustomResourceDefinition({ name: crd.metadata!.name! });
      return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    }, 30_000);

    const widget = {
      apiVersion: `${group}/v1`,
      kind: 'Widget',
      metadata: { name: 'w1', namespace: 'default' },
      spec: { size: 3, color: 'red' },
    };
    // Discovery of a new CRD can lag its Established condition by a moment.
    await eventually(
      () =>
        objects.createNamespacedCustomObject({
          group,
          version: 'v1',
          namespace: 'default',
          plural: 'widgets',
          body: widget,
        }) as Promise<unknown>,
      15_000,
    );
    const read = (await objects.getNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural: 'widgets',
      name: 'w1',
    })) as {
      spec: unknown;
      metadata: { uid?: string; resourceVersion?: string };
    };
    expect(read.spec).to.deep.equal({ size: 3, color: 'red' });
    expect(read.metadata.uid).to.be.a('string').and.not.empty;

    const refusals: Array<[Record<string, unknown>, string]> = [
      [{ size: 11, color: 'red' }, 'spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10'],
      [{ size: 2, color: 'green' }, 'spec.color: Unsupported value: "green": supported values: "red", "blue"'],
      [{ color: 'blue' }, 'spec.size: Required value'],
    ];
    for (const [spec, expected] of refusals) {
      const body = { ...widget, metadata: { name: 'invalid', namespace: 'default' }, spec };
      const error = (await objects
        .createNamespacedCustomObject({ group, version: 'v1', namespace: 'default', plural: 'widgets', body })
        .then(
          () => undefined,
          (e: unknown) => e,
        )) as { code?: number; body?: string } | undefined;
      expect(error, `the apiserver must refuse ${JSON.stringify(spec)}`).to.not.equal(undefined);
      expect(error!.code).to.equal(422);
      expect((JSON.parse(error!.body!) as { message: string }).message).to.contain(expected);
    }
  });

  it('garbage-collects an object whose owner is deleted (kube-controller-manager runs)', async function () {
    this.timeout(60_000);
    const kube = await rig.kube();
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    const owner = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'gc-owner' }, data: { a: '1' } },
    });
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: {
        metadata: {
          name: 'gc-dependent',
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'gc-owner', uid: owner.metadata!.uid! }],
        },
        data: { b: '2' },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'gc-owner' });
    const gone = await eventually(
      () =>
        core.readNamespacedConfigMap({ namespace: 'default', name: 'gc-dependent' }).then(
          () => undefined,
          (e: { code?: number }) => (e.code === 404 ? true : undefined),
        ),
      45_000,
    );
    expect(gone).to.equal(true);
  });
});
