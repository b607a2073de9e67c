// gluetun's three HTTP servers (docs/exchange-protocols.md §3.4, §3.5): the health server the
// exec probes ask, the control server (/v1/vpn/status, /v1/publicip/ip), and the HTTP proxy
// (CONNECT and plain http://) whose upstream connections follow the pod's routes, so they leave
// through the tunnel or, with the firewall, not at all.
import { Buffer } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { URL } from 'node:url';

const CONNECT_TIMEOUT_MS = 10_000;

function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}
const same = (a, b) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
const basic = (user, password) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** GET anything → 200 when healthy, 500 with the reason otherwise; anything but GET → 400. */
export function healthServer(state) {
  return createServer((req, res) => {
    if (req.method !== 'GET') return void res.writeHead(400).end('method not allowed\n');
    if (state.healthError === undefined) return void res.writeHead(200).end();
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`${state.healthError}\n`);
  });
}

function authorized(auth, req) {
  switch (auth.kind) {
    case 'none':
      return true;
    case 'apikey':
      return same(String(req.headers['x-api-key'] ?? ''), auth.apikey);
    case 'basic':
      return same(String(req.headers.authorization ?? ''), basic(auth.username, auth.password));
    case 'public-get':
      return req.method === 'GET';
    default:
      return false;
  }
}

async function readJson(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return JSON.parse(body || '{}');
}

/** The control server; `vpn.set('running' | 'stopped')` starts or stops the tunnel (PUT /v1/vpn/status). */
export function controlServer(state, settings, vpn) {
  const emptyIp = {
    public_ip: '',
    region: '',
    country: '',
    city: '',
    hostname: '',
    location: '',
    organization: '',
    postal_code: '',
    timezone: '',
  };
  return createServer((req, res) => {
    if (!authorized(settings.control.auth, req)) return void res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized\n');
    const route = `${req.method} ${new URL(req.url ?? '/', 'http://control').pathname}`;
    switch (route) {
      case 'GET /v1/vpn/status':
      case 'GET /v1/openvpn/status':
        return sendJson(res, 200, { status: state.vpn });
      case 'PUT /v1/vpn/status':
      case 'PUT /v1/openvpn/status':
        return void readJson(req)
          .then(({ status }) => {
            if (status !== 'running' && status !== 'stopped') return sendJson(res, 400, { error: 'status must be "running" or "stopped"' });
            vpn.set(status);
            sendJson(res, 200, { outcome: status });
          })
          .catch((error) => sendJson(res, 400, { error: error.message }));
      case 'GET /v1/publicip/ip':
        return sendJson(res, 200, state.vpn === 'running' && state.publicIp ? state.publicIp : emptyIp);
      case 'GET /v1/vpn/settings':
        // What gluetun would show, without the keys.
        return sendJson(res, 200, {
          provider: settings.provider,
          type: settings.vpnType,
          server_countries: settings.serverCountries,
          endpoint: `${settings.endpoint.ip}:${settings.endpoint.port}`,
          addresses: [`${settings.address.address}/${settings.address.bits}`],
        });
      default:
        return sendJson(res, 404, { error: `no route ${route}` });
    }
  });
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
function endToEnd(headers) {
  const out = { ...headers };
  for (const name of HOP_BY_HOP) delete out[name];
  return out;
}

/** HTTPPROXY: CONNECT host:port (what undici's ProxyAgent sends) and absolute-form http:// requests. */
export function proxyServer(proxy) {
  const allowed = (req) => !proxy.user || same(String(req.headers['proxy-authorization'] ?? ''), basic(proxy.user, proxy.password));
  const server = createServer((req, res) => {
    if (!allowed(req)) return void res.writeHead(407, { 'proxy-authenticate': 'Basic realm="gluetun"' }).end();
    let url;
    try {
      url = new URL(req.url ?? '');
    } catch {
      return void res.writeHead(400).end('an absolute http:// URL is expected\n');
    }
    if (url.protocol !== 'http:') return void res.writeHead(400).end('only http:// is proxied this way; use CONNECT\n');
    const upstream = request(
      {
        host: url.hostname,
        port: url.port || 80,
        method: req.method,
        path: `${url.pathname}${url.search}`,
        headers: endToEnd(req.headers),
      },
      (answer) => {
        upstream.setTimeout(0);
        res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
        answer.pipe(res);
      },
    );
    upstream.setTimeout(CONNECT_TIMEOUT_MS, () => upstream.destroy(new Error(`no answer from ${url.host} in ${CONNECT_TIMEOUT_MS} ms`)));
    upstream.on('error', (error) => (res.headersSent ? res.destroy() : res.writeHead(502).end(`${error.message}\n`)));
    req.pipe(upstream);
  });
  server.on('connect', (req, client, head) => {
    client.on('error', () => undefined);
    if (!allowed(req))
      return void client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="gluetun"\r\n\r\n');
    const target = /^\[?([^\]]+?)\]?:(\d+)$/.exec(req.url ?? '');
    if (!target) return void client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    let open = false;
    const upstream = connect({ host: target[1], port: Number(target[2]) }, () => {
      open = true;
      upstream.setTimeout(0);
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.setTimeout(CONNECT_TIMEOUT_MS, () => upstream.destroy(new Error('connect timeout')));
    upstream.on('error', () => (open ? client.destroy() : client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n')));
    upstream.on('close', () => open && client.destroy());
    client.on('close', () => upstream.destroy());
  });
  return server;
}
