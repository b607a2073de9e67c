// The dependency direction of the code, enforced at `make lint`:
//   contracts ← lib ← venues ← operator, workloads ← cli
// (tests and benches may import anything). Contracts import nothing of ours, so the operator and
// the workloads meet only there; a workload imports only itself and the monitors' shared
// market-data code, so no process carries another's code or a simulator.
import { dirname, relative, resolve, sep } from 'node:path';

const root = resolve(import.meta.dirname, '..');

const allowed = {
  contracts: ['contracts'],
  lib: ['contracts', 'lib'],
  venues: ['contracts', 'lib', 'venues'],
  operator: ['contracts', 'lib', 'venues', 'operator'],
  workloads: ['contracts', 'lib', 'venues', 'workloads'],
  cli: ['contracts', 'lib', 'venues', 'operator', 'workloads', 'cli'],
};

/** Workloads a workload may import besides itself. */
const sharedWorkloads = ['market-data'];

function place(path) {
  const parts = relative(root, path).split(sep);
  return { layer: parts[0], workload: parts[0] === 'workloads' ? parts[1] : undefined };
}

function problem(file, target) {
  const from = place(file);
  const to = place(target);
  const layers = allowed[from.layer];
  if (!layers || !(to.layer in allowed)) return undefined; // tests, benches, tooling
  if (!layers.includes(to.layer)) return `${from.layer}/ must not import ${to.layer}/ (allowed: ${layers.join(', ')})`;
  if (from.layer === 'workloads' && to.layer === 'workloads' && from.workload !== to.workload && !sharedWorkloads.includes(to.workload)) {
    return `workloads/${from.workload} must not import workloads/${to.workload} (share it through contracts/, lib/ or venues/)`;
  }
  return undefined;
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports follow the layers contracts ← lib ← venues ← operator/workloads ← cli' },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    const check = (node) => {
      const source = node.source;
      if (!source || source.type !== 'Literal' || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
      const message = problem(file, resolve(dirname(file), source.value));
      if (message) context.report({ node: source, message });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
  },
};

export default rule;
