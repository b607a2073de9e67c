// `arbees demo` end to end, as a user runs it: real Redis and PostgreSQL, both simulators, the four
// workloads as their own processes. A short scenario with one arbitrage window, one Kalshi outage
// and both games ending must give: the window found and traded on both venues (live, on the
// simulators), the breaker opening on the stale books and closing again, no lost signal and no
// duplicate order, every position settled when the venues pay out, the simulators' final balances
// equal to the ledger's to the cent, a report with its chart, and every process stopped
// gracefully — at the end, and on Ctrl-C.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ScenarioInput } from '../../workloads/sim/scenario.js';

const REPO = join(import.meta.dirname, '..', '..');
const workloads = ['kalshi-monitor', 'polymarket-monitor', 'detector', 'executor'];

const scenario: ScenarioInput = {
  name: 'demo-it',
  seed: 7,
  duration: '5m',
  messageRate: 15,
  games: [
    {
      id: 'nba-phi-lal',
      sport: 'nba',
      away: 'PHI',
      home: 'LAL',
      kalshi: { eventTicker: 'KXNBAGAME-26NOV26PHILAL' },
      markets: [
        {
          id: 'nba-phi-lal-lal',
          team: 'LAL',
          initialPrice: 0.6,
          kalshi: { ticker: 'KXNBAGAME-26NOV26PHILAL-LAL' },
          polymarket: { yesTokenId: '111', noTokenId: '112' },
        },
      ],
    },
    {
      id: 'nfl-kc-buf',
      sport: 'nfl',
      away: 'KC',
      home: 'BUF',
      kalshi: { eventTicker: 'KXNFLGAME-26NOV26KCBUF' },
      markets: [
        {
          id: 'nfl-kc-buf-kc',
          team: 'KC',
          initialPrice: 0.45,
          kalshi: { ticker: 'KXNFLGAME-26NOV26KCBUF-KC' },
          polymarket: { yesTokenId: '221', noTokenId: '222' },
        },
      ],
    },
  ],
  // 40 s of simulated time at ×6.7 is 6 s of real time: long enough that detection is not a race.
  arbitrage: [{ id: 'arb-kc', market: 'nfl-kc-buf-kc', at: '40s', duration: '40s', venue: 'polymarket', direction: 'cheap', bps: 700 }],
  faults: [{ venue: 'kalshi', type: 'disconnect', at: '90s', duration: '24s' }],
  // Both games over once the breaker has recovered (a closed market's book goes quiet, which it
  // reads as stale data), paid out 15 s later: settled with seconds of the run to spare.
  resolutions: [
    { market: 'nfl-kc-buf-kc', at: '200s', winner: 'yes', settleAfter: '15s' },
    { market: 'nba-phi-lal-lal', at: '205s', winner: 'no', settleAfter: '15s' },
  ],
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  reportDir: string;
}

function runDemo(durationS: number, interruptAfterStartMs?: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'arbees-demo-it-'));
  const scenarioFile = join(dir, 'scenario.yaml');
  writeFileSync(scenarioFile, stringify(scenario));
  const reportDir = join(dir, 'report');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(REPO, 'cli', 'arbees.ts'),
      'demo',
      '--duration',
      `${durationS}s`,
      '--scenario',
      scenarioFile,
      '--report-dir',
      reportDir,
    ],
    {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (interruptAfterStartMs !== undefined && stdout.includes('running at')) {
      setTimeout(() => child.kill('SIGINT'), interruptAfterStartMs);
      interruptAfterStartMs = undefined;
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr, reportDir })));
}

/** The value cell of a summary row of the report. */
function row(report: string, label: string): string {
  const line = report.split('\n').find((l) => l.startsWith(`| ${label}`));
  expect(line, `report row "${label}"`).to.be.a('string');
  return line!.split('|')[2]!.trim();
}

function expectGracefulStops(reportDir: string): void {
  for (const name of workloads) {
    const log = readFileSync(join(reportDir, 'logs', `${name}.log`), 'utf8');
    expect(log.trimEnd().split('\n').at(-1), `${name} log`).to.equal(`[arbees] ${name} exited (code 0, signal null)`);
  }
}

describe('arbees demo', function () {
  this.timeout(180_000);

  it('finds and trades the window, trips and recovers the breaker, settles, and ends with venue balances = ledger', async () => {
    const run = await runDemo(45);
    expect(run.code, `exit code; stderr:\n${run.stderr}\nstdout:\n${run.stdout.slice(-3000)}`).to.equal(0);
    const report = readFileSync(join(run.reportDir, 'report.md'), 'utf8');
    expect(row(report, 'arbitrage windows injected / found')).to.equal('1 / 1');
    const [published, recorded, lost] = row(report, 'signals published').split(' / ');
    expect(Number(published)).to.be.greaterThan(0);
    expect(recorded).to.equal(published);
    expect(lost).to.equal('**0**');
    const [orders, filled, duplicates] = row(report, 'orders / filled').split(' / ');
    expect(Number(filled)).to.be.at.least(2); // both legs of the arbitrage
    expect(Number(orders)).to.be.at.least(Number(filled));
    expect(duplicates).to.equal('**0**');
    // Both legs of the window's trade, one per venue.
    const windowRow = report.split('\n').find((l) => l.startsWith('| arb-kc |'))!;
    expect(Number(windowRow.split('|')[7]!.trim())).to.be.at.least(2);
    expect(report).to.match(/\| nfl-kc-buf-kc \| kalshi \|/);
    expect(report).to.match(/\| nfl-kc-buf-kc \| polymarket \|/);
    // The outage: stale Kalshi books open the breaker; it recovers through half-open.
    expect(report).to.match(/Closed → Open \| stale-market-data/);
    expect(report).to.match(/Open → HalfOpen/);
    expect(report).to.match(/HalfOpen → Closed/);
    expect(Number(row(report, 'WebSocket reconnects').split(' / ')[0])).to.be.greaterThan(0);
    // The games ended: every position the window opened was paid out by its venue and settled.
    const [settled, open] = row(report, 'positions settled / still open').split(' / ');
    expect(Number(settled)).to.be.at.least(2);
    expect(open).to.equal('0');
    expect(report).to.match(/\| nfl-kc-buf \| -?\$\d+\.\d\d \| -?\$\d+\.\d\d \| -?\$\d+\.\d\d \|/);
    const [kalshiFees, polymarketFees] = row(report, 'fees by venue').split(' / ');
    expect(kalshiFees).to.match(/^\$\d+\.\d\d$/);
    expect(polymarketFees).to.match(/^\$\d+\.\d\d$/);
    // What each simulator says the account holds is what the ledger says, to the cent.
    expect(row(report, 'final balances = ledger')).to.equal('**equal to the cent**');
    expect(report).to.match(/\| kalshi \| \$10000\.00 \| \$[\d.]+ \| \$[\d.]+ \| \$0\.00 \|/);
    expect(report).to.match(/\| polymarket \| \$10000\.00 \| \$[\d.]+ \| \$[\d.]+ \| \$0\.00 \|/);
    const svg = readFileSync(join(run.reportDir, 'pnl-latency.svg'), 'utf8');
    expect(svg).to.match(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).to.contain('<polyline');
    expect(svg).to.contain('<circle');
    expect(run.stdout).to.contain('Report: ');
    expectGracefulStops(run.reportDir);
  });

  it('stops everything cleanly on Ctrl-C and still writes the report', async () => {
    const run = await runDemo(120, 3_000);
    expect(run.code, `exit code; stderr:\n${run.stderr}`).to.equal(0);
    const report = readFileSync(join(run.reportDir, 'report.md'), 'utf8');
    expect(report).to.contain('stopped early (Ctrl-C)');
    expect(existsSync(join(run.reportDir, 'pnl-latency.svg'))).to.equal(true);
    expectGracefulStops(run.reportDir);
  });

  it('refuses a bad duration or a scenario that does not parse, saying why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'arbees-demo-bad-'));
    writeFileSync(join(dir, 'bad.yaml'), 'name: x\ngames: []\n');
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'cli', 'arbees.ts'), 'demo', ...args], {
          cwd: REPO,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.once('exit', (code) => resolve({ code, stderr }));
      });
    const badDuration = await run(['--duration', 'soon']);
    expect(badDuration.code).to.equal(2);
    expect(badDuration.stderr).to.contain('--duration');
    const badScenario = await run(['--scenario', join(dir, 'bad.yaml')]);
    expect(badScenario.code).to.equal(1);
    expect(badScenario.stderr).to.contain('games');
  });
});
