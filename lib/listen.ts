// Starting and stopping an HTTP or HTTPS server, the same way for every server of ours.
import type { AddressInfo, Server } from 'node:net';

/** An HTTP or HTTPS server (both can drop their open connections). */
type HttpServer = Server & { closeAllConnections(): void };

export interface Listening {
  /** The port listened on (the one chosen when 0 was asked). */
  port: number;
  /** Drops open connections (keep-alive ones would hold close() forever) and waits for the server to stop. */
  close(): Promise<void>;
}

/** Listens on `port` (0: any free one) at `host`; refuses with the listen error (EADDRINUSE, EACCES). */
export function listen(server: HttpServer, port: number, host: string): Promise<Listening> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
