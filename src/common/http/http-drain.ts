import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, Socket } from 'node:net';

/**
 * Drains an HTTP/1.1 server without cutting a request a client has already sent.
 *
 * http.Server.close() (Node ≥ 19) drops every idle keep-alive connection at once; a client that was
 * writing its next request on one gets a reset. Instead, drain():
 *   - stops accepting connections (a new one is refused, which any client can safely retry);
 *   - lets every request in flight finish, each answered with `Connection: close`;
 *   - closes a keep-alive connection only after it has been idle for `idleGraceMs`, so that a request
 *     already on its way is served (with `Connection: close`) instead of reset;
 *   - resolves when no connection is left, or destroys what remains at the deadline.
 */
export class HttpDrain {
  /** Responses not yet finished, per open connection (an empty set: the connection is idle). */
  private readonly connections = new Map<Socket, Set<ServerResponse>>();
  private readonly idleTimers = new Map<Socket, NodeJS.Timeout>();
  private draining = false;
  private onEmpty?: () => void;

  constructor(
    private readonly server: Server,
    private readonly idleGraceMs = 1000,
  ) {
    server.on('connection', (socket: Socket) => {
      this.connections.set(socket, new Set());
      socket.once('close', () => this.forget(socket));
    });
    // First 'request' listener, so that it runs before the framework answers.
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => this.track(req.socket, res));
  }

  /** Open connections (for logs). */
  get open(): number {
    return this.connections.size;
  }

  async drain(timeoutMs: number): Promise<{ forced: number }> {
    this.draining = true;
    if (this.server.listening) NetServer.prototype.close.call(this.server);
    for (const [socket, responses] of this.connections) {
      for (const res of responses) if (!res.headersSent) res.setHeader('connection', 'close');
      if (responses.size === 0) this.closeWhenIdle(socket);
    }
    if (this.connections.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((resolve) => (this.onEmpty = resolve)), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    }
    const forced = this.connections.size;
    for (const socket of this.connections.keys()) socket.destroy();
    return { forced };
  }

  private track(socket: Socket, res: ServerResponse): void {
    clearTimeout(this.idleTimers.get(socket));
    this.idleTimers.delete(socket);
    const responses = this.connections.get(socket);
    if (!responses) return;
    responses.add(res);
    if (this.draining) res.setHeader('connection', 'close');
    res.once('close', () => {
      responses.delete(res);
      if (this.draining && responses.size === 0 && this.connections.has(socket)) this.closeWhenIdle(socket);
    });
  }

  private closeWhenIdle(socket: Socket): void {
    clearTimeout(this.idleTimers.get(socket));
    this.idleTimers.set(
      socket,
      setTimeout(() => {
        if (this.connections.get(socket)?.size === 0) socket.end();
      }, this.idleGraceMs),
    );
  }

  private forget(socket: Socket): void {
    clearTimeout(this.idleTimers.get(socket));
    this.idleTimers.delete(socket);
    this.connections.delete(socket);
    if (this.draining && this.connections.size === 0) this.onEmpty?.();
  }
}
