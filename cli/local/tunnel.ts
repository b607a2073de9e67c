// A loopback HTTP CONNECT proxy standing in for the VPN pod's proxy when everything runs on one
// machine (`arbees demo`): a live executor sends Polymarket only through such a proxy, so the demo
// gives it one. It opens tunnels to loopback addresses only.
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface LocalTunnel {
  url: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export async function startLocalTunnel(): Promise<LocalTunnel> {
  const open = new Set<Socket>();
  const track = (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((_req, res) => res.writeHead(405, { connection: 'close' }).end());
  server.on('connect', (req, client: Socket, head: Buffer) => {
    track(client);
    const target = new URL(`http://${req.url ?? ''}`);
    if (!LOOPBACK.has(target.hostname)) return void client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    const upstream = connect({ host: target.hostname.replace(/^\[|\]$/g, ''), port: Number(target.port) });
    track(upstream);
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream).pipe(client);
    });
    upstream.once('close', () => client.destroy());
    client.once('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
