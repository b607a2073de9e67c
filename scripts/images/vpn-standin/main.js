// The stand-in's run: settings, the firewall before anything else (as gluetun: ~15 ms after start),
// routes, the tunnel, the servers, then a health check every 2 s (gluetun checks every minute;
// tests want to see a cut within seconds). Unhealthy: the health server answers 500, the control
// server says "stopped", and the firewall stays: the kill switch.
/* global fetch, AbortSignal -- Node's own (undici), not modules */
import console from 'node:console';
import { connect } from 'node:net';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkTun, firewall, tunnelDown, tunnelUp, underlay, underlayRoutes } from './network.js';
import { controlServer, healthServer, proxyServer } from './servers.js';
import { readSettings } from './settings.js';

const CHECK_EVERY_MS = 2_000;
const CHECK_TIMEOUT_MS = 2_000;

const log = (level, area, message) => console.log(`${new Date().toISOString()} ${level} [${area}] ${message}`);
const fail = (area, error) => {
  log('ERROR', area, error instanceof Error ? error.message : String(error));
  process.exit(1);
};

function dial({ host, port }) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (error) => {
      socket.destroy();
      resolve(error);
    };
    socket.setTimeout(CHECK_TIMEOUT_MS, () => done(`dialing ${host}:${port}: i/o timeout`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (error) => done(`dialing ${host}:${port}: ${error.message}`));
  });
}

/** The exit's ipinfo-shaped answer, in gluetun's /v1/publicip/ip shape. */
async function publicIp(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const info = await res.json();
  const text = (key) => (typeof info[key] === 'string' ? info[key] : '');
  return {
    public_ip: text('ip'),
    region: text('region'),
    country: text('country'),
    city: text('city'),
    hostname: text('hostname'),
    location: text('loc'),
    organization: text('org'),
    postal_code: text('postal'),
    timezone: text('timezone'),
  };
}

function listen(server, { host, port }, what) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      log('INFO', what, `listening on ${host ?? ''}:${port}`);
      resolve(server);
    });
  });
}

async function main() {
  let settings;
  try {
    settings = readSettings(process.env);
  } catch (error) {
    return fail('settings', error);
  }
  const s = settings;
  log(
    'INFO',
    'settings',
    `provider ${s.provider} (${s.vpnType}; stand-in: VXLAN), countries ${s.serverCountries.join(',') || '-'}, ` +
      `endpoint ${s.endpoint.ip}:${s.endpoint.port}, address ${s.address.address}/${s.address.bits}, ` +
      `outbound subnets ${s.outboundSubnets.join(',') || '-'}, input ports ${s.inputPorts.join(',') || '-'}`,
  );
  try {
    checkTun();
  } catch (error) {
    return fail('tun', `cannot open /dev/net/tun: ${error.message}`);
  }
  let under;
  try {
    under = underlay();
    firewall(s, under);
    const cluster = [...new Set([...s.outboundSubnets, ...under.localNetworks])].join(', ');
    log('INFO', 'firewall', `enabled: default drop; ${under.dev} carries only the tunnel and ${cluster}`);
    underlayRoutes(s, under);
    tunnelUp(s, under);
    log('INFO', 'vpn', `tunnel ${s.interface} up (VXLAN ${under.ip} → ${s.endpoint.ip}:${s.endpoint.port}), default route through it`);
  } catch (error) {
    return fail('network', error);
  }

  const state = { vpn: 'starting', healthError: 'healthcheck did not run yet', wanted: 'running', publicIp: undefined };
  const vpn = {
    set(status) {
      state.wanted = status;
      if (status === 'stopped') {
        tunnelDown(s.interface);
        state.vpn = 'stopped';
        state.healthError = 'the VPN is stopped';
      } else {
        tunnelUp(s, under);
        state.vpn = 'starting';
      }
      log('INFO', 'vpn', `${status} by the control server`);
    },
  };
  const servers = [
    await listen(healthServer(state), s.health, 'healthcheck'),
    await listen(controlServer(state, s, vpn), s.control, 'http server'),
    ...(s.proxy ? [await listen(proxyServer(s.proxy), s.proxy, 'http proxy')] : []),
  ];
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.once(signal, () => {
      // The tunnel goes; the firewall stays (gluetun never disables it), so the pod stays closed.
      log('INFO', 'main', `${signal}: stopping; the firewall stays`);
      for (const server of servers) server.close();
      tunnelDown(s.interface);
      process.exit(0);
    });
  }

  for (;;) {
    const errors = state.wanted === 'stopped' ? ['the VPN is stopped'] : (await Promise.all(s.healthTargets.map(dial))).filter(Boolean);
    if (errors.length === 0) {
      if (state.vpn !== 'running') {
        state.publicIp = await publicIp(s.publicIpUrl).catch((error) => {
          log('WARN', 'public ip', `${s.publicIpUrl}: ${error.message}`);
          return undefined;
        });
        log('INFO', 'healthcheck', `healthy; public IP ${state.publicIp?.public_ip || 'unknown'}`);
      }
      state.vpn = 'running';
      state.healthError = undefined;
    } else if (state.wanted === 'running') {
      const error = errors.join('; ');
      if (state.healthError !== error) log('WARN', 'healthcheck', `unhealthy: ${error}`);
      state.healthError = error;
      if (state.vpn === 'running') state.vpn = 'stopped';
    }
    await sleep(CHECK_EVERY_MS);
  }
}

main().catch((error) => fail('main', error));
