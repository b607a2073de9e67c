// The TradingShard CRD as a file: the chart carries the same bytes, the schema is structural and
// bounded (so the apiserver can cost its CEL rules), it mirrors contracts/trading-shard.ts field by field
// (read with the TypeScript compiler, not a hand list), and the samples are coherent. What the
// apiserver does with it (defaults, refusals, printer columns) is test/integration/crd.test.ts.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { parse, parseAllDocuments } from 'yaml';
import { components, sports } from '../../contracts/trading-shard.js';
import { parseDuration } from '../../operator/breaker/duration.js';
import { credentialEnv } from '../../contracts/shard-config.js';
import { packageInfo } from '../../lib/package-root.js';

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  maxItems?: number;
  pattern?: string;
  description?: string;
  'x-kubernetes-validations'?: Array<{ rule: string; message?: string }>;
  [key: string]: unknown;
}

interface Crd {
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    scope: string;
    names: Record<string, unknown>;
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: Record<string, unknown>;
      additionalPrinterColumns: Array<{ name: string; type: string; jsonPath: string }>;
      schema: { openAPIV3Schema: Schema };
    }>;
  };
}

const root = packageInfo().root;
const crdPath = join(root, 'crds', 'tradingshards.arbees.io.yaml');
const chartCrdPath = join(root, 'charts', 'arbees', 'crds', 'tradingshards.arbees.io.yaml');

/** Every schema node with its path, depth first. */
function* walk(schema: Schema, path: string): Generator<[string, Schema]> {
  yield [path, schema];
  for (const [key, child] of Object.entries(schema.properties ?? {})) yield* walk(child, `${path}.${key}`);
  if (schema.items) yield* walk(schema.items, `${path}[]`);
}

// ---- contracts/trading-shard.ts read as a shape tree with the TypeScript compiler ----

type Shape =
  | { kind: 'object'; props: Map<string, { optional: boolean; shape: Shape }> }
  | { kind: 'array'; items: Shape }
  | { kind: 'string'; values?: string[] }
  | { kind: 'number' }
  | { kind: 'boolean' };

function typesShapes(): (name: string) => Shape {
  const file = join(root, 'contracts', 'trading-shard.ts');
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const declarations = new Map<string, ts.InterfaceDeclaration | ts.TypeAliasDeclaration>();
  const constArrays = new Map<string, string[]>();
  for (const statement of source.statements) {
    if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) declarations.set(statement.name.text, statement);
    if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) {
        let init = d.initializer;
        if (init && ts.isAsExpression(init)) init = init.expression;
        if (ts.isIdentifier(d.name) && init && ts.isArrayLiteralExpression(init)) {
          constArrays.set(
            d.name.text,
            init.elements.filter(ts.isStringLiteral).map((e) => e.text),
          );
        }
      }
    }
  }
  const members = (list: ts.NodeArray<ts.TypeElement>): Shape => {
    const props = new Map<string, { optional: boolean; shape: Shape }>();
    for (const m of list) {
      if (!ts.isPropertySignature(m) || !m.type) throw new Error(`unsupported member ${m.getText(source)}`);
      props.set(m.name.getText(source).replace(/^'|'$/g, ''), { optional: Boolean(m.questionToken), shape: shapeOf(m.type) });
    }
    return { kind: 'object', props };
  };
  const stringValues = (node: ts.TypeNode): string[] | undefined => {
    if (ts.isLiteralTypeNode(node) && ts.isStringLiteral(node.literal)) return [node.literal.text];
    if (ts.isUnionTypeNode(node)) {
      const all = node.types.map(stringValues);
      return all.every((v) => v !== undefined) ? all.flat() : undefined;
    }
    if (ts.isTypeReferenceNode(node)) {
      const d = declarations.get(node.typeName.getText(source));
      if (d && ts.isTypeAliasDeclaration(d)) return stringValues(d.type);
    }
    // (typeof sports)[number]
    if (ts.isIndexedAccessTypeNode(node)) {
      let object = node.objectType;
      if (ts.isParenthesizedTypeNode(object)) object = object.type;
      if (ts.isTypeQueryNode(object)) return constArrays.get(object.exprName.getText(source));
    }
    return undefined;
  };
  const shapeOf = (node: ts.TypeNode): Shape => {
    const values = stringValues(node);
    if (values) return { kind: 'string', values };
    if (node.kind === ts.SyntaxKind.StringKeyword) return { kind: 'string' };
    if (node.kind === ts.SyntaxKind.NumberKeyword) return { kind: 'number' };
    if (node.kind === ts.SyntaxKind.BooleanKeyword) return { kind: 'boolean' };
    if (ts.isTypeLiteralNode(node)) return members(node.members);
    if (ts.isArrayTypeNode(node)) return { kind: 'array', items: shapeOf(node.elementType) };
    if (ts.isTypeReferenceNode(node)) {
      const name = node.typeName.getText(source);
      const args = node.typeArguments ?? [];
      if (name === 'Partial' && args[0]) {
        const inner = shapeOf(args[0]);
        if (inner.kind !== 'object') throw new Error('Partial of a non-object');
        return { kind: 'object', props: new Map([...inner.props].map(([k, v]) => [k, { ...v, optional: true }])) };
      }
      if (name === 'Record' && args[0] && args[1]) {
        const keys = stringValues(args[0]);
        if (!keys) throw new Error(`Record with open keys: ${node.getText(source)}`);
        const value = shapeOf(args[1]);
        return { kind: 'object', props: new Map(keys.map((k) => [k, { optional: false, shape: value }])) };
      }
      const d = declarations.get(name);
      if (d && ts.isInterfaceDeclaration(d)) return members(d.members);
      if (d && ts.isTypeAliasDeclaration(d)) return shapeOf(d.type);
    }
    throw new Error(`unsupported type in trading-shard.ts: ${node.getText(source)}`);
  };
  return (name) => {
    const d = declarations.get(name);
    if (!d) throw new Error(`no ${name} in trading-shard.ts`);
    return ts.isInterfaceDeclaration(d) ? members(d.members) : shapeOf(d.type);
  };
}

/**
 * Differences between a TypeScript shape and a schema; a field is optional in TS exactly when the
 * schema neither requires nor defaults it.
 */
function compare(shape: Shape, schema: Schema, path: string, problems: string[]): void {
  switch (shape.kind) {
    case 'object': {
      if (schema.type !== 'object') return void problems.push(`${path}: TS object, schema ${schema.type}`);
      const schemaKeys = Object.keys(schema.properties ?? {});
      for (const key of schemaKeys) if (!shape.props.has(key)) problems.push(`${path}.${key}: in the schema, not in trading-shard.ts`);
      for (const [key, { optional, shape: child }] of shape.props) {
        const sub = schema.properties?.[key];
        if (!sub) {
          problems.push(`${path}.${key}: in trading-shard.ts, not in the schema`);
          continue;
        }
        const alwaysThere = (schema.required ?? []).includes(key) || sub.default !== undefined;
        if (optional === alwaysThere)
          problems.push(
            `${path}.${key}: ` +
              (optional
                ? 'optional in trading-shard.ts but required or defaulted'
                : 'always set in trading-shard.ts but neither required nor defaulted') +
              ' in the schema',
          );
        compare(child, sub, `${path}.${key}`, problems);
      }
      return;
    }
    case 'array':
      if (schema.type !== 'array' || !schema.items) return void problems.push(`${path}: TS array, schema ${schema.type}`);
      return compare(shape.items, schema.items, `${path}[]`, problems);
    case 'string':
      if (schema.type !== 'string') return void problems.push(`${path}: TS string, schema ${schema.type}`);
      if (JSON.stringify([...(shape.values ?? [])].sort()) !== JSON.stringify([...((schema.enum as string[] | undefined) ?? [])].sort())) {
        problems.push(`${path}: TS values ${JSON.stringify(shape.values ?? 'any')}, schema enum ${JSON.stringify(schema.enum ?? 'any')}`);
      }
      return;
    case 'number':
      if (schema.type !== 'integer' && schema.type !== 'number') problems.push(`${path}: TS number, schema ${schema.type}`);
      return;
    case 'boolean':
      if (schema.type !== 'boolean') problems.push(`${path}: TS boolean, schema ${schema.type}`);
      return;
  }
}

describe('TradingShard CRD (file)', () => {
  const text = readFileSync(crdPath, 'utf8');
  const crd = parse(text) as Crd;
  const version = crd.spec.versions[0]!;
  const schema = version.schema.openAPIV3Schema;
  const spec = schema.properties!.spec!;

  it('is carried byte-identical by the Helm chart', () => {
    expect(
      readFileSync(chartCrdPath).equals(readFileSync(crdPath)),
      `${chartCrdPath} differs from ${crdPath}: cp crds/*.yaml charts/arbees/crds/`,
    ).to.equal(true);
  });

  it('names arbees.io/v1alpha1 TradingShard, namespaced, with short name and category', () => {
    expect(crd.metadata.name).to.equal('tradingshards.arbees.io');
    expect(crd.metadata.labels).to.include({ 'app.kubernetes.io/name': 'arbees', 'app.kubernetes.io/part-of': 'arbees' });
    expect(crd.spec.group).to.equal('arbees.io');
    expect(crd.spec.scope).to.equal('Namespaced');
    expect(crd.spec.names).to.deep.include({
      kind: 'TradingShard',
      plural: 'tradingshards',
      singular: 'tradingshard',
      shortNames: ['ts'],
      categories: ['arbees'],
    });
    expect(crd.spec.versions).to.have.length(1);
    expect(version).to.include({ name: 'v1alpha1', served: true, storage: true });
    expect(version.subresources).to.deep.equal({ status: {} });
  });

  it('has a structural schema: a type on every node, no preserve-unknown-fields, no YAML aliases', () => {
    expect(text).not.to.include('x-kubernetes-preserve-unknown-fields');
    expect(text).not.to.match(/^\s*[\w-]+: [&*]\w+/m);
    for (const [path, node] of walk(schema, 'openAPIV3Schema')) {
      expect(node.type, `${path} has a type`).to.be.oneOf(['object', 'array', 'string', 'integer', 'number', 'boolean']);
      if (node.type === 'object') {
        expect(node.properties, `${path} lists its properties`).to.be.an('object').that.is.not.empty;
      }
    }
  });

  it('bounds every array (CEL cost estimates need maxItems) and describes every spec field', () => {
    for (const [path, node] of walk(schema, 'openAPIV3Schema')) {
      if (node.type === 'array') expect(node.maxItems, `${path}.maxItems`).to.be.a('number');
    }
    for (const [path, node] of walk(spec, 'spec')) {
      const inResources = /\.resources\.(requests|limits)/.test(path) || path.endsWith('[]');
      if (!inResources) expect(node.description, `${path} has a description`).to.be.a('string').and.not.empty;
    }
  });

  it('gives every CEL rule a message', () => {
    const rules = [...walk(schema, 'openAPIV3Schema')].flatMap(([path, node]) =>
      (node['x-kubernetes-validations'] ?? []).map((r) => ({ path, ...r })),
    );
    expect(rules.length).to.be.at.least(8);
    for (const rule of rules) expect(rule.message, `${rule.path}: ${rule.rule}`).to.be.a('string').and.not.empty;
  });

  it('mirrors contracts/trading-shard.ts: every field, which are optional, and every enum', () => {
    const shapes = typesShapes();
    const problems: string[] = [];
    compare(shapes('TradingShardSpec'), spec, 'spec', problems);
    compare(shapes('TradingShardStatus'), schema.properties!.status!, 'status', problems);
    expect(problems).to.deep.equal([]);
    // The enums TypeScript reads from runtime lists, checked once more against those lists.
    expect(spec.properties!.markets!.items!.properties!.sport!.enum).to.deep.equal([...sports]);
    expect(Object.keys(schema.properties!.status!.properties!.components!.properties!)).to.deep.equal([...components]);
  });

  it('keys markets by id and breaker rules and conditions by name/type; sports and countries are sets', () => {
    const markets = spec.properties!.markets!;
    expect(markets).to.include({ 'x-kubernetes-list-type': 'map', maxItems: 200 });
    expect(markets['x-kubernetes-list-map-keys']).to.deep.equal(['id']);
    const rules = spec.properties!.circuitBreaker!.properties!.rules!;
    expect(rules).to.include({ 'x-kubernetes-list-type': 'map', maxItems: 50 });
    expect(rules['x-kubernetes-list-map-keys']).to.deep.equal(['name']);
    expect(schema.properties!.status!.properties!.conditions!['x-kubernetes-list-map-keys']).to.deep.equal(['type']);
    expect(spec.properties!.discovery!.properties!.sports!['x-kubernetes-list-type']).to.equal('set');
    expect(spec.properties!.venues!.properties!.polymarket!.properties!.vpn!.properties!.serverCountries).to.include({
      'x-kubernetes-list-type': 'set',
      maxItems: 20,
    });
  });

  it('declares the printer columns kubectl get shows', () => {
    expect(version.additionalPrinterColumns.map(({ name, type, jsonPath }) => ({ name, type, jsonPath }))).to.deep.equal([
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Breaker', type: 'string', jsonPath: '.status.circuitBreaker.state' },
      { name: 'Markets', type: 'integer', jsonPath: '.status.marketCount' },
      { name: 'Mode', type: 'string', jsonPath: '.spec.executor.mode' },
      { name: 'Paused', type: 'boolean', jsonPath: '.spec.paused' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ]);
  });

  it("accepts exactly the durations the breaker's parseDuration reads", () => {
    const pattern = new RegExp(spec.properties!.circuitBreaker!.properties!.cooldown!.pattern!);
    const durationNodes = [...walk(spec, 'spec')].filter(([path]) => /circuitBreaker\.(cooldown|halfOpenAfter|rules\[\]\.for)$/.test(path));
    expect(durationNodes).to.have.length(3);
    for (const [, node] of durationNodes) {
      expect(node.pattern).to.equal(pattern.source);
      if (typeof node.default === 'string') expect(() => parseDuration(node.default as string)).not.to.throw();
    }
    for (const text of ['0s', '500ms', '30s', '5m', '1h', '1m30s', '1h2m3s4ms', '', '5', 'm', '5min', '1.5s', '-1s', '30 s', '1d', '5M']) {
      let parses = true;
      try {
        parseDuration(text);
      } catch {
        parses = false;
      }
      expect(pattern.test(text), `"${text}"`).to.equal(parses);
    }
  });
});

describe('TradingShard samples', () => {
  type Doc = {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string> };
    stringData?: Record<string, string>;
    spec?: Record<string, unknown>;
  };
  interface SampleSpec {
    markets?: Array<{ id: string; polymarket: { yesTokenId: string; noTokenId: string } }>;
    discovery?: { sports: string[] };
    venues: {
      kalshi?: { marketDataSecretRef: { name: string }; credentialsSecretRef?: { name: string } };
      polymarket: { credentialsSecretRef?: { name: string }; vpn: { secretRef: { name: string } } };
    };
    executor: { mode?: string };
    circuitBreaker?: { rules?: Array<{ name: string; query: string; for?: string }> };
  }
  const load = (file: string): Doc[] => parseAllDocuments(readFileSync(join(root, 'samples', file), 'utf8')).map((d) => d.toJSON() as Doc);

  for (const file of ['paper-shard.yaml', 'live-shard.yaml', 'discovery-shard.yaml']) {
    it(`${file}: Secrets first, then one TradingShard whose secret refs resolve to Secrets with the keys the workloads read`, () => {
      const docs = load(file);
      const shards = docs.filter((d) => d.kind === 'TradingShard');
      expect(shards).to.have.length(1);
      expect(docs[docs.length - 1]!.kind).to.equal('TradingShard');
      expect(docs.slice(0, -1).every((d) => d.kind === 'Secret' && d.apiVersion === 'v1')).to.equal(true);
      expect(
        docs.every((d) => d.metadata.namespace === undefined),
        'namespaced by kubectl -n',
      ).to.equal(true);
      const shard = shards[0]!;
      expect(shard.apiVersion).to.equal('arbees.io/v1alpha1');
      const spec = shard.spec as unknown as SampleSpec;
      const secret = (name: string) => docs.find((d) => d.kind === 'Secret' && d.metadata.name === name);
      expect(secret(spec.venues.polymarket.vpn.secretRef.name), 'the VPN secret').not.to.equal(undefined);
      // The operator uses only Secrets marked for Arbees.
      for (const doc of docs.slice(0, -1)) expect(doc.metadata.labels?.['arbees.io/credentials'], doc.metadata.name).to.equal('true');
      const marketDataRef = spec.venues.kalshi!.marketDataSecretRef.name;
      expect(Object.keys(secret(marketDataRef)?.stringData ?? {}), "the monitor's own Kalshi key").to.have.members(
        Object.keys(credentialEnv.kalshi),
      );
      expect(marketDataRef).not.to.equal(spec.venues.kalshi?.credentialsSecretRef?.name);
      const kalshiRef = spec.venues.kalshi?.credentialsSecretRef?.name;
      const polymarketRef = spec.venues.polymarket.credentialsSecretRef?.name;
      if (kalshiRef) expect(Object.keys(secret(kalshiRef)?.stringData ?? {})).to.have.members(Object.keys(credentialEnv.kalshi));
      if (polymarketRef)
        expect(Object.keys(secret(polymarketRef)?.stringData ?? {})).to.have.members(Object.keys(credentialEnv.polymarket));
      for (const rule of spec.circuitBreaker?.rules ?? []) {
        expect(rule.query, rule.name).to.include(`shard="${shard.metadata.name}"`);
        if (rule.for) expect(() => parseDuration(rule.for!)).not.to.throw();
      }
      for (const market of spec.markets ?? []) {
        for (const token of [market.polymarket.yesTokenId, market.polymarket.noTokenId]) {
          expect(BigInt(token) < 2n ** 256n, `${market.id}: ${token} is a uint256`).to.equal(true);
          expect(token.length, `${market.id}: a realistic CLOB token id`).to.be.within(70, 78);
        }
      }
    });
  }

  it('paper-shard.yaml is nba-paper: paper mode, NBA markets, a VPN secret and 3-5 breaker rules over our metrics', () => {
    const shard = load('paper-shard.yaml').find((d) => d.kind === 'TradingShard')!;
    const spec = shard.spec as unknown as SampleSpec & { markets: Array<{ sport: string; kalshi: { ticker: string } }> };
    expect(shard.metadata.name).to.equal('nba-paper');
    expect(spec.executor.mode).to.equal('paper');
    expect(spec.markets.length).to.be.within(2, 3);
    for (const m of spec.markets) {
      expect(m.sport).to.equal('nba');
      expect(m.kalshi.ticker).to.match(/^KXNBAGAME-\d{2}[A-Z]{3}\d{2}[A-Z]{6}-[A-Z]{3}$/);
    }
    const rules = spec.circuitBreaker!.rules!;
    expect(rules.length).to.be.within(3, 5);
    const queries = rules.map((r) => r.query).join('\n');
    for (const metric of [
      'arbees_daily_loss_usd',
      'arbees_quote_age_seconds',
      'arbees_vpn_up',
      'arbees_orders_total',
      'arbees_ws_reconnects_total',
    ])
      expect(queries).to.include(metric);
    expect(queries).to.match(/rate\(arbees_orders_total\{[^}]*status="rejected"[^}]*\}\[\w+\]\)/);
  });

  it('live-shard.yaml is live with both credential Secrets; discovery-shard.yaml discovers nhl and nfl without markets', () => {
    const live = load('live-shard.yaml').find((d) => d.kind === 'TradingShard')!.spec as unknown as SampleSpec;
    expect(live.executor.mode).to.equal('live');
    expect(live.venues.kalshi?.credentialsSecretRef).not.to.equal(undefined);
    expect(live.venues.polymarket.credentialsSecretRef).not.to.equal(undefined);
    const discovery = load('discovery-shard.yaml').find((d) => d.kind === 'TradingShard')!.spec as unknown as SampleSpec;
    expect(discovery.markets).to.equal(undefined);
    expect(discovery.discovery?.sports).to.have.members(['nhl', 'nfl']);
  });
});
