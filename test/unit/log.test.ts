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

  it('hides the password of a connection URL', () => {
    expect(redactUrl('postgres://arbees:s3cret@db:5432/arbees')).to.equal('postgres://arbees:%5BRedacted%5D@db:5432/arbees');
    expect(redactUrl('redis://cache:6379')).to.equal('redis://cache:6379');
    expect(redactUrl('not a url')).to.equal('[unparseable url]');
  });
});
