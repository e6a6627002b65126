import * as net from 'node:net';

export type FaultMode = { kind: 'pass' } | { kind: 'freeze' } | { kind: 'delay'; ms: number };

/**
 * A TCP proxy in front of a real server, for fault injection at the wire: `freeze` holds every byte
 * in both directions (as a SIGSTOPped server would: connections open, nothing answers) until the mode
 * changes; `delay` holds each chunk from the client for `ms` before forwarding it.
 */
export class FaultProxy {
  private server?: net.Server;
  private mode: FaultMode = { kind: 'pass' };
  private readonly waiting = new Set<() => void>();
  private readonly sockets = new Set<net.Socket>();
  /** Chunks the clients sent, by mode at the time (a request is one or more chunks). */
  readonly chunksFromClients = { pass: 0, freeze: 0, delay: 0 };
  url = '';

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    this.server = net.createServer((client) => this.connect(client));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  set(mode: FaultMode): void {
    this.mode = mode;
    if (mode.kind !== 'freeze') {
      for (const release of this.waiting) release();
      this.waiting.clear();
    }
  }

  async stop(): Promise<void> {
    this.set({ kind: 'pass' });
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private connect(client: net.Socket): void {
    const upstream = net.connect(this.target);
    this.sockets.add(client).add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    this.pipe(client, upstream, true);
    this.pipe(upstream, client, false);
  }

  /** Forwards chunks in order, each after the current fault lets it through. */
  private pipe(from: net.Socket, to: net.Socket, fromClient: boolean): void {
    let chain = Promise.resolve();
    from.on('data', (chunk) => {
      if (fromClient) this.chunksFromClients[this.mode.kind]++;
      const mode = this.mode;
      chain = chain.then(async () => {
        if (fromClient && mode.kind === 'delay') await new Promise((r) => setTimeout(r, mode.ms));
        while (this.mode.kind === 'freeze') await new Promise<void>((r) => this.waiting.add(r));
        if (!to.destroyed) to.write(chunk);
      });
    });
  }
}
