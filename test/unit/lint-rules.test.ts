// The project's own lint rules (lint/): imports follow the layers, and no line is wider than the formatter's.
import { expect } from 'chai';
import { Linter } from 'eslint';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import arbees from '../../lint/plugin.js';
import { packageInfo } from '../../lib/package-root.js';

const root = packageInfo().root;

function problems(file: string, source: string): string[] {
  const linter = new Linter({ configType: 'flat' });
  const messages = linter.verify(
    source,
    [{ files: ['**/*.ts'], languageOptions: { sourceType: 'module' }, plugins: { arbees }, rules: { 'arbees/layers': 'error' } }],
    { filename: join(root, file) },
  );
  return messages.map((m) => m.message);
}

describe('import layers (lint/layers.js)', () => {
  it('lets every layer import the layers below it', () => {
    expect(problems('lib/log.ts', "import { x } from '../contracts/messages.js';")).to.deep.equal([]);
    expect(problems('venues/kalshi/orders.ts', "import { x } from '../../lib/log.js';")).to.deep.equal([]);
    expect(problems('operator/reconciler.ts', "import { x } from '../venues/orders.js';")).to.deep.equal([]);
    expect(problems('workloads/executor/executor.ts', "import { x } from '../../venues/orders.js';")).to.deep.equal([]);
    expect(problems('cli/commands/operator.ts', "import { x } from '../../operator/manager.js';")).to.deep.equal([]);
    expect(problems('test/unit/x.test.ts', "import { x } from '../../cli/main.js';")).to.deep.equal([]);
  });

  it('refuses an import against the direction, naming both layers', () => {
    expect(problems('contracts/messages.ts', "import { x } from '../lib/log.js';")).to.deep.equal([
      'contracts/ must not import lib/ (allowed: contracts)',
    ]);
    expect(problems('venues/orders.ts', "export { x } from '../workloads/executor/ledger.js';")[0]).to.match(
      /^venues\/ must not import workloads\//,
    );
    expect(problems('operator/manager.ts', "const m = import('../workloads/detector/core.js');")[0]).to.match(
      /^operator\/ must not import workloads\//,
    );
    expect(problems('workloads/executor/main.ts', "import { x } from '../../cli/command.js';")[0]).to.match(
      /^workloads\/ must not import cli\//,
    );
  });

  it("keeps each workload to itself and the monitors' shared market-data code", () => {
    expect(problems('workloads/kalshi-monitor/service.ts', "import { x } from '../market-data/book.js';")).to.deep.equal([]);
    expect(problems('workloads/executor/executor.ts', "import { x } from '../detector/core.js';")).to.deep.equal([
      'workloads/executor must not import workloads/detector (share it through contracts/, lib/ or venues/)',
    ]);
    expect(problems('workloads/detector/core.ts', "import { x } from '../sim/book.js';")).to.have.length(1);
  });
});

describe('line width (lint/line-width.js)', () => {
  const lint = (source: string) =>
    new Linter({ configType: 'flat' })
      .verify(source, [{ files: ['**/*.ts'], plugins: { arbees }, rules: { 'arbees/line-width': 'error' } }], {
        filename: join(root, 'lib/x.ts'),
      })
      .map((m) => `${m.line}: ${m.message}`);

  it('refuses a comment or string the formatter leaves wider than its width, and only that line', () => {
    const width = (JSON.parse(readFileSync(join(root, '.prettierrc.json'), 'utf8')) as { printWidth: number }).printWidth;
    const long = `// ${'x'.repeat(width - 2)}`;
    expect(lint(`const a = 1;\n${long}\nconst b = '${'y'.repeat(width)}';\n`)).to.deep.equal([
      `2: line is ${width + 1} characters, over ${width}`,
      `3: line is ${width + 13} characters, over ${width}`,
    ]);
    expect(lint(`// ${'x'.repeat(width - 3)}\n`)).to.deep.equal([]);
  });
});
