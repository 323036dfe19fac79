import net from 'node:net';

/**
 * A TCP forwarder on a loopback port, to take a server away from a process under test and give it
 * back without touching the server: `stop()` refuses new connections and cuts the open ones (as a
 * restarting PostgreSQL would), `start()` listens again on the same port.
 */
export interface TcpProxy {
  port: number;
  /** `postgres://…` URL of the target with the host and port replaced by the proxy's. */
  url(targetUrl: string): string;
  start(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }, options: { port?: number; listening?: boolean } = {}): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = options.port ?? 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer((client) => {
        const upstream = net.connect(target.port, target.host);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as net.AddressInfo).port;
        server = s;
        resolve();
      });
    });
  const stop = async () => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  if (options.listening !== false) await listen();
  else if (!port) {
    // Reserve a free port for later.
    await listen();
    await stop();
  }
  return {
    get port() {
      return port;
    },
    url(targetUrl) {
      const url = new URL(targetUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    start: async () => {
      if (!server) await listen();
    },
    stop,
    close: stop,
  };
}
