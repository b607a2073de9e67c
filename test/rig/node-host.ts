// What the rig's Kubernetes node changes on the host, and how all of it is undone. The node is a
// single one per machine (it owns an address, a bridge, iptables chains, sysctls and the kubepods
// cgroups), so its state lives in one file, /run/arbees-node.json: written before anything is
// changed, updated as processes start, and read back by the teardown, whether that runs at the
// end of the tests, in `make cluster-down`, or at the next start after a run that crashed.
import { execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { LocalServiceError, type ManagedProcess, type startProcess } from '../../cli/local/process.js';

export const STATE_FILE = '/run/arbees-node.json';
/** Host sysctls that kubelet, kube-proxy, kube-router or the CNI bridge may change. */
const SYSCTLS = [
  'kernel.panic',
  'kernel.panic_on_oops',
  'vm.overcommit_memory',
  'vm.panic_on_oom',
  'kernel.keys.root_maxkeys',
  'kernel.keys.root_maxbytes',
  'net.ipv4.ip_forward',
  'net.ipv4.conf.all.route_localnet',
  'net.bridge.bridge-nf-call-iptables',
  'net.bridge.bridge-nf-call-ip6tables',
  'net.netfilter.nf_conntrack_max',
];
const FAMILIES = ['iptables', 'ip6tables'] as const;
/** Chains that kube-proxy, kubelet, kube-router and the CNI plugins create. */
const NODE_CHAIN = /^(KUBE-|CNI-)/;
const NFT_TABLE = 'arbees_node';

export interface NodeState {
  /** `rig` (the tests; swept by the next start when its owner is gone) or `cluster-up` (only `make cluster-down` removes it). */
  kind: 'rig' | 'cluster-up';
  owner: number;
  /** Left running on purpose (ARBEES_KEEP_RIG=1): its folder stays for reading after the sweep. */
  kept?: boolean;
  dir: string;
  nodeIP: string;
  bridge: string;
  containerdSocket: string;
  processes: { name: string; pid: number; exe: string }[];
  sysctls: Record<string, string>;
  ipsets: string[];
  chains: Record<string, string[]>;
  netns: string[];
  nftTables: string[];
  /** Folders outside the node's where kubelet and libcni leave files: their entries before (null: absent). */
  hostDirs: Record<string, string[] | null>;
}
/** Folders kubelet and libcni write to whatever their settings. */
const HOST_DIRS = ['/var/log/containers', '/var/lib/cni/results', '/var/lib/cni'];

export function run(command: string, args: string[], input?: string): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (error) {
    throw new Error(`${command} ${args.join(' ')}: ${firstStderrLine(error) || (error as Error).message}`, { cause: error });
  }
}
/** The first line an execFileSync failure wrote to stderr. */
export function firstStderrLine(error: unknown): string {
  const stderr = (error as { stderr?: string | Buffer }).stderr;
  return (stderr ? stderr.toString() : '').trim().split('\n')[0] ?? '';
}
function attempt(command: string, args: string[], input?: string): boolean {
  try {
    run(command, args, input);
    return true;
  } catch {
    return false;
  }
}

const sysctlPath = (key: string) => `/proc/sys/${key.replaceAll('.', '/')}`;
function readSysctls(): Record<string, string> {
  const values: Record<string, string> = {};
  for (const key of SYSCTLS) if (existsSync(sysctlPath(key))) values[key] = readFileSync(sysctlPath(key), 'utf8').trim();
  return values;
}
export function setSysctl(key: string, value: string): void {
  writeFileSync(sysctlPath(key), value);
}

function chainsOf(family: string): string[] {
  const chains: string[] = [];
  let table = '';
  for (const line of run(`${family}-save`, []).split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    else if (line.startsWith(':')) chains.push(`${table}:${line.slice(1).split(' ')[0]}`);
  }
  return chains;
}
const ipsets = () => run('ipset', ['list', '-n']).split('\n').filter(Boolean);
const nftTables = () => run('nft', ['list', 'tables']).split('\n').filter(Boolean);
const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir) : null);
const netnsNames = () => (existsSync('/run/netns') ? readdirSync('/run/netns') : []);

export function readState(): NodeState | undefined {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as NodeState;
  } catch {
    return undefined;
  }
}
export function saveState(state: NodeState): void {
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 1), { mode: 0o600 });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The node needs root and cgroups; says which is missing. */
export function requireRootAndCgroups(): void {
  if (process.getuid?.() !== 0)
    throw new LocalServiceError('the cluster node needs root (containerd, kubelet, iptables, mounts): run as root (CI does)');
  if (!existsSync('/sys/fs/cgroup/memory/cgroup.procs') && !existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    throw new LocalServiceError('no cgroups mounted at /sys/fs/cgroup: the node cannot run containers here');
  }
}

/**
 * Checks that this machine can run the node and nothing else owns what it takes, sweeps a node a
 * crashed run left, and records the host as it is now.
 */
export async function claimHost(
  kind: NodeState['kind'],
  dir: string,
  node: { ip: string; bridge: string; socket: string },
): Promise<NodeState> {
  requireRootAndCgroups();
  const previous = readState();
  if (previous) {
    if (previous.kind === 'cluster-up' && kind === 'rig') {
      throw new LocalServiceError(`a node from \`make cluster-up\` runs on this machine (${previous.dir}): \`make cluster-down\` first`);
    }
    if (previous.kind === 'rig' && previous.owner !== process.pid && alive(previous.owner) && previous.processes.some(isOurs)) {
      throw new LocalServiceError(`another test run (pid ${previous.owner}) has the cluster node up; one node per machine`);
    }
    process.stderr.write(`rig: tearing down the node a previous run left (${previous.dir})\n`);
    await teardown(previous);
    // A crashed run's node folder (containerd's images among it) goes too; a kept one is for reading.
    if (previous.kind === 'rig' && !previous.kept && !alive(previous.owner)) rmSync(previous.dir, { recursive: true, force: true });
  }
  const chains: Record<string, string[]> = {};
  for (const family of FAMILIES) chains[family] = chainsOf(family);
  const foreign = Object.values(chains)
    .flat()
    .filter((c) => /:KUBE-/.test(c));
  if (foreign.length > 0)
    throw new LocalServiceError(
      `iptables has chains of another Kubernetes node on this machine (${foreign[0]}, ...): the rig's node would clash with it`,
    );
  if (kubepodsProcesses().length > 0)
    throw new LocalServiceError('processes run in the kubepods cgroups: another kubelet runs on this machine');
  const state: NodeState = {
    kind,
    owner: process.pid,
    dir,
    nodeIP: node.ip,
    bridge: node.bridge,
    containerdSocket: node.socket,
    processes: [],
    sysctls: readSysctls(),
    ipsets: ipsets(),
    chains,
    netns: netnsNames(),
    nftTables: nftTables(),
    hostDirs: Object.fromEntries([...HOST_DIRS, '/run/netns'].map((d) => [d, entries(d)])),
  };
  saveState(state);
  return state;
}

/**
 * Nothing a pod sends leaves the machine: a table of our own, ahead of iptables' filter chains
 * (so no ACCEPT of kube-proxy's or kube-router's can come first), rejects what is forwarded
 * from the pod range to anywhere outside it.
 */
export function guardForwarding(podCIDR: string): void {
  run(
    'nft',
    ['-f', '-'],
    [
      `table ip ${NFT_TABLE} {`,
      ' chain forward {',
      '  type filter hook forward priority -10; policy accept;',
      `  ip saddr ${podCIDR} ip daddr != ${podCIDR} counter reject`,
      ' }',
      '}',
      '',
    ].join('\n'),
  );
}
/** Packets the guard has rejected so far. */
export function guardRejected(): number {
  return Number(/counter packets (\d+)/.exec(run('nft', ['list', 'table', 'ip', NFT_TABLE]))?.[1] ?? 0);
}

/**
 * Starts a process in its own session with its output in a file, so a kept node outlives this
 * process; records its pid in the state. Same contract as startProcess.
 */
export function daemonSpawner(state: NodeState): typeof startProcess {
  return (name, command, args, options) => {
    const log = openSync(options.logFile, 'a');
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child.unref();
    if (child.pid) {
      state.processes.push({ name, pid: child.pid, exe: realpathSync(command) });
      saveState(state);
    }
    const exited = new Promise<number | null>((resolve) => {
      child.once('error', () => resolve(null));
      child.once('exit', (code) => resolve(code));
    });
    const managed: ManagedProcess = {
      name,
      logFile: options.logFile,
      child,
      exited,
      logTail: (lines = 15) =>
        existsSync(options.logFile) ? readFileSync(options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(no log)',
      async stop(signal = 'SIGTERM', graceMs = 10_000) {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      },
    };
    return managed;
  };
}

/** Is `pid` still the process we started (not a reused pid)? */
function isOurs(entry: { pid: number; exe: string }): boolean {
  try {
    return readlinkSync(`/proc/${entry.pid}/exe`).replace(/ \(deleted\)$/, '') === entry.exe;
  } catch {
    return false;
  }
}

async function killAll(pids: number[]): Promise<void> {
  for (const pid of pids) signal(pid, 'SIGKILL');
  for (let i = 0; i < 100 && !pids.every(gone); i++) await new Promise((r) => setTimeout(r, 50));
}
/** Gone from /proc, or a zombie (our own children stay one until Node reaps them). */
function gone(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

const CGROUP_ROOT = '/sys/fs/cgroup';
function kubepodsDirs(): string[] {
  const dirs: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // removed meanwhile: runc removes a pod's cgroups as its processes die, during teardown too
    }
    dirs.push(dir);
    for (const entry of entries) if (entry.isDirectory()) walk(join(dir, entry.name));
  };
  for (const controller of existsSync(CGROUP_ROOT) ? readdirSync(CGROUP_ROOT) : []) {
    const top = join(CGROUP_ROOT, controller, 'kubepods');
    if (existsSync(top)) walk(top);
  }
  if (existsSync(join(CGROUP_ROOT, 'kubepods'))) walk(join(CGROUP_ROOT, 'kubepods'));
  return dirs;
}
function kubepodsProcesses(): number[] {
  const pids = new Set<number>();
  for (const dir of kubepodsDirs()) {
    try {
      for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.add(Number(line));
    } catch {
      /* removed meanwhile */
    }
  }
  return [...pids];
}

/** containerd's shims for our socket (they outlive containerd). */
export function shimPids(socket: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.includes('containerd-shim') && argv.includes(socket)) pids.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return pids;
}

/** Mount points under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((p): p is string => !!p && p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

function removeNodeChains(state: NodeState): void {
  for (const family of FAMILIES) {
    const before = new Set(state.chains[family] ?? []);
    const saved = run(`${family}-save`, []);
    const script: string[] = [];
    let table = '';
    let rules: string[] = [];
    let chains: string[] = [];
    const flush = () => {
      if (table && (rules.length > 0 || chains.length > 0))
        script.push(`*${table}`, ...rules, ...chains.map((c) => `-F ${c}`), ...chains.map((c) => `-X ${c}`), 'COMMIT');
      rules = [];
      chains = [];
    };
    for (const line of saved.split('\n')) {
      if (line.startsWith('*')) {
        flush();
        table = line.slice(1);
      } else if (line.startsWith(':')) {
        const chain = line.slice(1).split(' ')[0] ?? '';
        if (NODE_CHAIN.test(chain) && !before.has(`${table}:${chain}`)) chains.push(chain);
      } else if (line.startsWith('-A ')) {
        const [, chain = '', ...rest] = line.split(' ');
        const target = /-[jg] (\S+)/.exec(line)?.[1] ?? '';
        const nodeChain = (c: string) => NODE_CHAIN.test(c) && !before.has(`${table}:${c}`);
        if (!nodeChain(chain) && nodeChain(target)) rules.push(`-D ${chain} ${rest.join(' ')}`);
      }
    }
    flush();
    if (script.length > 0) run(`${family}-restore`, ['--noflush'], `${script.join('\n')}\n`);
  }
}

/**
 * The pods' network namespaces (containerd names them cni-<uuid>; other tests' are not ours).
 * `ip netns add` (the VPN tests) may have bind-mounted /run/netns over itself since containerd
 * mounted them, hiding their mounts: then that bind goes first.
 */
function removePodNetns(state: NodeState): void {
  const ours = (p: string) => p.startsWith('/run/netns/cni-') && !state.netns.includes(p.slice('/run/netns/'.length));
  const left = () => mountsUnder('/run/netns').filter(ours);
  for (let round = 0; left().length > 0 && round < 5; round++) {
    for (const point of left()) attempt('umount', ['-l', point]);
    if (left().length > 0 && mountsUnder('/run').includes('/run/netns')) attempt('umount', ['-l', '/run/netns']);
  }
  for (const name of netnsNames()) if (ours(`/run/netns/${name}`)) rmSync(`/run/netns/${name}`, { force: true });
  if (left().length > 0) throw new Error(`still mounted: ${left().join(' ')}`);
}

/** Undoes everything the node did to the host; safe to run twice, and on a half-started node. */
export async function teardown(state: NodeState): Promise<void> {
  const problems: string[] = [];
  const step = (what: string, action: () => void) => {
    try {
      action();
    } catch (error) {
      problems.push(`${what}: ${(error as Error).message}`);
    }
  };
  const ours = state.processes.filter(isOurs);
  const order = ['kube-router', 'coredns', 'kube-proxy', 'kube-scheduler', 'kubelet'];
  // Nothing of the node is kept, so nothing needs a graceful stop: SIGKILL, kubelet first so
  // that it restarts no container, then the pods, their shims, containerd, the control plane.
  await killAll(ours.filter((p) => order.includes(p.name)).map((p) => p.pid));
  // The pods: every process in the kubepods cgroups, then the shims that held them.
  for (let i = 0; i < 20 && kubepodsProcesses().length > 0; i++) {
    for (const pid of kubepodsProcesses()) signal(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
  }
  await killAll(shimPids(state.containerdSocket));
  await killAll(ours.filter((p) => p.name === 'containerd').map((p) => p.pid));
  await killAll(ours.filter((p) => !order.includes(p.name) && p.name !== 'containerd').map((p) => p.pid));

  for (const point of mountsUnder(state.dir)) {
    if (attempt('umount', [point])) continue;
    // Unmounting a parent takes its nested mounts with it: "not mounted" is no problem.
    step(`unmount ${point}`, () => {
      try {
        run('umount', ['-l', point]);
      } catch (error) {
        if (!/not mounted/.test((error as Error).message)) throw error;
      }
    });
  }
  step('network namespaces', () => removePodNetns(state));
  for (const dir of kubepodsDirs().reverse()) {
    try {
      rmdirSync(dir);
    } catch {
      /* busy or gone */
    }
  }
  step('iptables', () => removeNodeChains(state));
  step('nft', () => void attempt('nft', ['delete', 'table', 'ip', NFT_TABLE]));
  // Tables iptables-nft made for kube-proxy and kubelet, empty now.
  for (const table of nftTables().filter((t) => !state.nftTables.includes(t))) attempt('nft', ['delete', ...table.split(' ')]);
  // Sets may refer to each other: destroy until nothing more goes.
  let left = ipsets().filter((s) => !state.ipsets.includes(s));
  for (let round = 0; left.length > 0 && round < 5; round++) {
    for (const set of left) attempt('ipset', ['destroy', set]);
    left = ipsets().filter((s) => !state.ipsets.includes(s));
  }
  if (left.length > 0) problems.push(`ipsets left: ${left.join(' ')}`);
  attempt('ip', ['link', 'delete', state.bridge]);
  attempt('ip', ['addr', 'delete', `${state.nodeIP}/32`, 'dev', 'lo']);
  const now = readSysctls();
  for (const [key, value] of Object.entries(state.sysctls)) if (now[key] !== value) step(`sysctl ${key}`, () => setSysctl(key, value));
  // What kubelet and libcni left outside the node's folder (deepest folder first).
  for (const dir of HOST_DIRS) {
    const before = state.hostDirs[dir];
    for (const entry of entries(dir) ?? [])
      if (!before?.includes(entry)) step(`remove ${dir}/${entry}`, () => rmSync(join(dir, entry), { recursive: true, force: true }));
    if (before === null) step(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  }
  if (!state.hostDirs['/run/netns']) attempt('rmdir', ['/run/netns']);
  rmSync(STATE_FILE, { force: true });
  if (problems.length > 0) process.stderr.write(`rig: node teardown left problems:\n  ${problems.join('\n  ')}\n`);
}
