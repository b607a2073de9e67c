// The operator's own kubeconfig loader: the cases it reads itself, and the ones it hands to
// @kubernetes/client-node.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inClusterConfig, loadKubeConfig, type KubeAuth } from '../../operator/kube/config.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');
/** client-node's KubeConfig (only it can make API clients). */
const isClientNode = (auth: KubeAuth) => 'makeApiClient' in auth;

async function applied(auth: KubeAuth): Promise<RequestOptions & { headers: Record<string, string> }> {
  const options: RequestOptions = { headers: { accept: 'application/json' } };
  await auth.applyToHTTPSOptions(options);
  return options as RequestOptions & { headers: Record<string, string> };
}

function kubeconfig(dir: string, cluster: string, user: string): string {
  const file = join(dir, 'config');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{ name: c, cluster: ${cluster} }]`,
      `users: [{ name: u, user: ${user} }]`,
      'contexts: [{ name: x, context: { cluster: c, user: u } }]',
      'current-context: x',
      '',
    ].join('\n'),
  );
  return file;
}

describe('operator kubeconfig', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'arbees-kubeconfig-'))));

  it('reads a token and inline CA data', async () => {
    const file = kubeconfig(dir, `{ server: "https://k:6443", certificate-authority-data: "${b64('CA PEM')}" }`, '{ token: s3cret }');
    const auth = await loadKubeConfig({ file });
    expect(isClientNode(auth)).to.equal(false);
    expect(auth.getCurrentCluster()).to.deep.equal({ server: 'https://k:6443' });
    const options = await applied(auth);
    expect(options.ca?.toString()).to.equal('CA PEM');
    expect(options.headers).to.deep.equal({ accept: 'application/json', authorization: 'Bearer s3cret' });
    expect(options.rejectUnauthorized).to.equal(undefined);
  });

  it(
    'reads client certificates and CA files relative to the kubeconfig, and honours insecure-skip-tls-verify and ' + 'tls-server-name',
    async () => {
      mkdirSync(join(dir, 'pki'));
      writeFileSync(join(dir, 'pki', 'ca.crt'), 'CA FILE');
      writeFileSync(join(dir, 'pki', 'me.crt'), 'CERT FILE');
      const file = kubeconfig(
        dir,
        '{ server: "https://k:6443", certificate-authority: pki/ca.crt, insecure-skip-tls-verify: true, tls-server-name: kubernetes }',
        `{ client-certificate: pki/me.crt, client-key-data: "${b64('KEY DATA')}" }`,
      );
      const options = await applied(await loadKubeConfig({ file }));
      expect(options.ca?.toString()).to.equal('CA FILE');
      expect(options.cert?.toString()).to.equal('CERT FILE');
      expect((options.key as Buffer).toString()).to.equal('KEY DATA');
      expect(options.rejectUnauthorized).to.equal(false);
      expect(options.servername).to.equal('kubernetes');
      expect(options.headers).not.to.have.property('authorization');
    },
  );

  it('finds $KUBECONFIG before ~/.kube/config before the in-cluster service account', async () => {
    const home = join(dir, 'home');
    mkdirSync(join(home, '.kube'), { recursive: true });
    writeFileSync(
      join(home, '.kube', 'config'),
      [
        'clusters: [{ name: c, cluster: { server: "https://home:6443" } }]',
        'contexts: [{ name: x, context: { cluster: c } }]',
        'current-context: x',
      ].join('\n'),
    );
    const explicit = kubeconfig(dir, '{ server: "https://env:6443" }', '{ token: t }');
    const serviceAccount = join(dir, 'sa');
    mkdirSync(serviceAccount);
    writeFileSync(join(serviceAccount, 'token'), 'sa-token\n');
    writeFileSync(join(serviceAccount, 'ca.crt'), 'SA CA');
    const inCluster = { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' };
    expect(
      (await loadKubeConfig({ env: { KUBECONFIG: explicit, HOME: home, ...inCluster }, serviceAccount })).getCurrentCluster()?.server,
    ).to.equal('https://env:6443');
    expect((await loadKubeConfig({ env: { HOME: home, ...inCluster }, serviceAccount })).getCurrentCluster()?.server).to.equal(
      'https://home:6443',
    );
    const pod = await loadKubeConfig({ env: { HOME: join(dir, 'nowhere'), ...inCluster }, serviceAccount });
    expect(pod.getCurrentCluster()?.server).to.equal('https://[fd00::1]:443');
    const options = await applied(pod);
    expect(options.ca?.toString()).to.equal('SA CA');
    expect(options.headers.authorization).to.equal('Bearer sa-token');
    await loadKubeConfig({ env: { HOME: join(dir, 'nowhere') }, serviceAccount: join(dir, 'none') }).then(
      () => expect.fail('loaded credentials from nowhere'),
      (error: Error) => expect(error.message).to.match(/no Kubernetes credentials/),
    );
  });

  it('re-reads the service-account token, which the kubelet rotates, at most every minute', async () => {
    const serviceAccount = join(dir, 'sa');
    mkdirSync(serviceAccount);
    writeFileSync(join(serviceAccount, 'token'), 'first');
    writeFileSync(join(serviceAccount, 'ca.crt'), 'CA');
    const auth = inClusterConfig({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccount);
    expect((await applied(auth)).headers.authorization).to.equal('Bearer first');
    writeFileSync(join(serviceAccount, 'token'), 'second');
    expect((await applied(auth)).headers.authorization).to.equal('Bearer first'); // cached
    const realNow = Date.now;
    Date.now = () => realNow() + 61_000;
    try {
      expect((await applied(auth)).headers.authorization).to.equal('Bearer second');
    } finally {
      Date.now = realNow;
    }
  });

  it('hands exec plugins and other auth it does not implement to client-node', async () => {
    const file = kubeconfig(
      dir,
      '{ server: "https://k:6443" }',
      '{ exec: { apiVersion: client.authentication.k8s.io/v1, command: echo } }',
    );
    const auth = await loadKubeConfig({ file });
    expect(isClientNode(auth)).to.equal(true);
    expect(auth.getCurrentCluster()?.server).to.equal('https://k:6443');
  });
});
