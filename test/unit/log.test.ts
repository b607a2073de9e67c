import { expect } from 'chai';
import { Writable } from 'node:stream';
import { createLogger, redactUrl } from '../../lib/log.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, stream };
}

describe('logging', () => {
  it('writes JSON lines with level names and bindings', () => {
    const { lines, stream } = capture();
    createLogger({ name: 'test', bindings: { shard: 'nba' } }, stream).info({ marketId: 'm1' }, 'hello');
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(entry).to.include({ level: 'info', name: 'test', shard: 'nba', marketId: 'm1', msg: 'hello' });
  });

  it('never writes secrets handed to it, at any depth up to three levels', () => {
    const { lines, stream } = capture();
    const secrets = ['hunter2', 'tok-123', 'k-priv', 'sig-xyz', 'wg-key', 'pp-1', 'Bearer abc'];
    createLogger({ name: 'test' }, stream).info(
      {
        password: secrets[0],
        venue: { token: secrets[1], credentials: { privateKey: secrets[2] } },
        request: { headers: { 'KALSHI-ACCESS-SIGNATURE': secrets[3], authorization: secrets[6] } },
        vpn: { WIREGUARD_PRIVATE_KEY: secrets[4] },
        polymarket: { passphrase: secrets[5] },
      },
      'connecting',
    );
    const text = lines.join('');
    for (const secret of secrets) expect(text).not.to.contain(secret);
    expect(text.match(/\[Redacted\]/g)).to.have.length(secrets.length);
  });

  it('censors secret keys in any case, at any depth, and connection strings under any name', () => {
    const { lines, stream } = capture();
    const secrets = ['h-auth', 'x-key-1', 'rk-9', 'pk-2', 'wg-psk', 'ovpn-user', 'deep-1', 'conn-3', 'AuThZ'];
    createLogger({ name: 'test' }, stream).info(
      {
        headers: { Authorization: secrets[0], 'X-API-Key': secrets[1], AUTHORIZATION: secrets[8] },
        config: { redisUrl: `redis://:${secrets[2]}@redis:6379`, postgresUrl: `postgres://a:${secrets[3]}@pg/arbees` },
        vpn: { WIREGUARD_PRESHARED_KEY: secrets[4], OPENVPN_USER: secrets[5] },
        a: { b: { c: { d: { e: { f: { password: secrets[6] } } } } } },
        DATABASE_URL: `postgresql://u:${secrets[7]}@db/x`,
        keyId: 'kid-visible',
      },
      'configured',
    );
    const text = lines.join('');
    for (const secret of secrets) expect(text, secret).not.to.contain(secret);
    expect(text, 'a key id is not a secret').to.contain('kid-visible');
  });

  it('scrubs passwords out of every string: messages, errors and URLs under harmless keys', () => {
    const { lines, stream } = capture();
    const log = createLogger({ name: 'test' }, stream).child({ target: 'redis://:child-pw@redis:6379/0' });
    const error = new Error('connect failed to postgres://arbees:err-pw@db:5432/arbees');
    log.warn(
      { err: error, endpoint: 'https://venue.example/x?password=q-pw&page=2', note: 'Bearer tok-abc' },
      'cannot reach redis://user:msg-pw@cache:6379',
    );
    log.info('key material %s', '-----BEGIN PRIVATE KEY-----\nMIIEv-secret\n-----END PRIVATE KEY-----');
    const text = lines.join('');
    for (const secret of ['child-pw', 'err-pw', 'q-pw', 'tok-abc', 'msg-pw', 'MIIEv-secret']) expect(text, secret).not.to.contain(secret);
    expect(text).to.contain('page=2').and.to.contain('redis://user:[Redacted]@cache:6379');
    expect(JSON.parse(lines[0]!)).to.have.nested.property('err.type', 'Error');
  });

  it('hides the password of a connection URL', () => {
    expect(redactUrl('redis://cache:6379/0?password=abc')).to.equal('redis://cache:6379/0?password=%5BRedacted%5D');
    expect(redactUrl('postgres://arbees:s3cret@db:5432/arbees')).to.equal('postgres://arbees:%5BRedacted%5D@db:5432/arbees');
    expect(redactUrl('redis://cache:6379')).to.equal('redis://cache:6379');
    expect(redactUrl('not a url')).to.equal('[unparseable url]');
  });
});
