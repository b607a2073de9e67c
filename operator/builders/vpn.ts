// The gluetun VPN sidecar. It shares the pod's network namespace, so once its firewall
// is up every packet of the pod leaves through the tunnel or not at all (the kill switch). As a
// native sidecar (an init container with restartPolicy Always) with a startup probe, it is up and
// connected before the app container starts.
import type { TradingShard } from '../../contracts/trading-shard.js';
import type { OperatorSettings } from './settings.js';

/** gluetun's control server, on the pod's loopback only: the monitor reads the tunnel's status there. */
export const vpnControlAddress = '127.0.0.1:8000';

/** gluetun's HTTP proxy: how the live executor's Polymarket orders go through this tunnel. */
export const vpnProxyPort = 8888;

export const vpnVolumes = [{ name: 'dev-net-tun', hostPath: { path: '/dev/net/tun', type: 'CharDevice' } }];

/**
 * The provider's keys under gluetun's names, per VPN type: only these are mounted from the shard's
 * VPN Secret (never the whole Secret), the optional ones only when present.
 */
export const vpnSecretKeys: Record<'wireguard' | 'openvpn', Array<{ key: string; optional: boolean }>> = {
  wireguard: [
    { key: 'WIREGUARD_PRIVATE_KEY', optional: false },
    { key: 'WIREGUARD_PRESHARED_KEY', optional: true },
    { key: 'WIREGUARD_ADDRESSES', optional: true },
    // gluetun's custom provider: the server's key and endpoint.
    { key: 'WIREGUARD_PUBLIC_KEY', optional: true },
    { key: 'WIREGUARD_ENDPOINT_IP', optional: true },
    { key: 'WIREGUARD_ENDPOINT_PORT', optional: true },
  ],
  openvpn: [
    { key: 'OPENVPN_USER', optional: false },
    { key: 'OPENVPN_PASSWORD', optional: false },
  ],
};

export function vpnSidecar(shard: TradingShard, settings: OperatorSettings, image: string): object {
  const { vpn } = shard.spec.venues.polymarket;
  const override = shard.spec.overrides?.vpn;
  const healthcheck = { exec: { command: ['/gluetun-entrypoint', 'healthcheck'] } };
  return {
    name: 'vpn',
    image,
    restartPolicy: 'Always',
    env: [
      { name: 'VPN_SERVICE_PROVIDER', value: vpn.provider },
      { name: 'VPN_TYPE', value: vpn.type },
      { name: 'SERVER_COUNTRIES', value: vpn.serverCountries.join(',') },
      // Let cluster traffic (Redis, PostgreSQL, DNS) past the kill switch; nothing else.
      { name: 'FIREWALL_OUTBOUND_SUBNETS', value: `${settings.podCidr},${settings.serviceCidr}` },
      { name: 'HTTP_CONTROL_SERVER_ADDRESS', value: vpnControlAddress },
      { name: 'HTTPPROXY', value: 'on' },
      { name: 'HTTPPROXY_LISTENING_ADDRESS', value: `:${vpnProxyPort}` },
      // gluetun's firewall also guards inbound traffic of the whole pod: let in the executor's
      // proxy traffic and the monitor's /metrics and probes (kubelet and Prometheus reach 9464).
      { name: 'FIREWALL_INPUT_PORTS', value: `${vpnProxyPort},${settings.metricsPort}` },
      { name: 'HEALTH_SERVER_ADDRESS', value: '127.0.0.1:9999' },
      ...vpnSecretKeys[vpn.type].map(({ key, optional }) => ({
        name: key,
        valueFrom: { secretKeyRef: { name: vpn.secretRef.name, key, ...(optional ? { optional: true } : {}) } },
      })),
    ],
    startupProbe: { ...healthcheck, periodSeconds: 2, failureThreshold: 90 },
    readinessProbe: { ...healthcheck, periodSeconds: 10, failureThreshold: 2 },
    livenessProbe: { ...healthcheck, periodSeconds: 15, failureThreshold: 4 },
    resources: override?.resources ?? { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
    // gluetun programs iptables and the tun device as root; NET_ADMIN is the one capability it
    // needs on top of being root, and this is the only container of Arbees that gets it.
    securityContext: {
      runAsUser: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] },
    },
    ports: [{ name: 'vpn-proxy', containerPort: vpnProxyPort, protocol: 'TCP' }],
    volumeMounts: [{ name: 'dev-net-tun', mountPath: '/dev/net/tun' }],
  };
}
