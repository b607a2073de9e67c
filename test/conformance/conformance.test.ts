// The venues' official clients, unmodified, against both simulators (harness.ts): Kalshi's
// kalshi-python-sync and Polymarket's py-clob-client-v2 (Python 3.13 venv from
// scripts/setup-conformance.sh) and @polymarket/clob-client-v2. One `it` per official call, made
// from the run's report, so each failure reads as the call and the venue behaviour it lacks.
// docs/venue-conformance.md lists what each failing call expects.
import { expect } from 'chai';
import Mocha from 'mocha';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTable, runConformance, type CallResult } from './harness.js';

const outDir = process.env.ARBEES_CONFORMANCE_OUT ?? join(tmpdir(), 'arbees-conformance');

function failure(r: CallResult): string {
  return `${r.endpoint ? `${r.endpoint}: ` : ''}${r.reason}`;
}

describe('venue conformance: official clients against the simulators', function () {
  // The clients run side by side; a matched order waits (up to 30 s) for its trades to settle on chain.
  this.timeout(360_000);
  let ran: Array<{ client: string; exitCode: number | null; stderrTail: string }> = [];

  before(async function () {
    const report = await runConformance({ outDir, log: (line) => console.log(`    ${line}`) });
    console.log(`\n${formatTable(report.results)}\n    report: ${join(outDir, 'conformance-report.json')}\n`);
    ran = report.runs;
    // The calls are known only once the clients have run: one suite per client, one test per call.
    const parent = this.test!.parent!;
    const byClient = new Map<string, CallResult[]>();
    for (const r of report.results) byClient.set(r.client, [...(byClient.get(r.client) ?? []), r]);
    for (const [client, results] of byClient) {
      const suite = Mocha.Suite.create(parent, client);
      suite.timeout(10_000);
      for (const r of results) {
        suite.addTest(
          new Mocha.Test(r.call, () => {
            if (!r.ok) expect.fail(failure(r));
          }),
        );
      }
    }
  });

  it('runs every official client to its end', () => {
    expect(ran.map((r) => r.client)).to.have.members(['kalshi (python)', 'polymarket (python)', 'polymarket (typescript)']);
    for (const r of ran) expect(r.exitCode, `${r.client} exited ${r.exitCode}:\n${r.stderrTail}`).to.equal(0);
  });
});
