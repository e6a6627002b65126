import type { Server } from 'node:http';
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../common/errors/app-error';

/** One server-sent event: its type, a JSON payload, and an optional id the client sends back as Last-Event-ID. */
export interface ProgressFrame {
  event: string;
  data: unknown;
  id?: string;
}

/** What one look at a run found: the frames to send, and whether the run has ended (then the stream ends). */
export interface ProgressTick {
  frames: ProgressFrame[];
  done: boolean;
  /** More is waiting (a full page of logs): look again at once instead of after the poll interval. */
  more?: boolean;
}

export interface ProgressStreamOptions {
  pollMs: number;
  heartbeatMs: number;
}

const DEFAULTS: ProgressStreamOptions = { pollMs: 500, heartbeatMs: 15_000 };

/**
 * Streams a run's progress as text/event-stream. Each tick reads the run through its owning service
 * (Postgres is the truth, so a stream on any replica sees a run that another replica executes), sends
 * what changed, and ends the stream with an `end` event once the run has ended. A comment line every
 * `heartbeatMs` keeps proxies from closing an idle stream. The response is written to the socket
 * directly (hijacked from Fastify), so nothing buffers it; a client that disconnects stops the polling,
 * and a replica that starts draining ends its streams (the browser's EventSource reconnects elsewhere).
 */
@Injectable()
export class ProgressStreams implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ProgressStreams.name);
  /** Each open stream: wakes it from its wait, and settles when it has ended. */
  private readonly open = new Map<() => void, Promise<void>>();
  private stopping = false;

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /** Ends every stream before the database and the rest of the app close. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    const streams = [...this.open];
    for (const [wake] of streams) wake();
    await Promise.allSettled(streams.map(([, done]) => done));
  }

  async stream(request: FastifyRequest, reply: FastifyReply, tick: () => Promise<ProgressTick>, options: Partial<ProgressStreamOptions> = {}): Promise<void> {
    const { pollMs, heartbeatMs } = { ...DEFAULTS, ...options };
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no', // nginx and kin: do not buffer this response
      'x-request-id': String(request.id),
    });
    res.write(`retry: 3000\n: progress stream of ${request.url}\n\n`);
    let closed = false;
    let wake = (): void => undefined;
    const onClose = (): void => {
      closed = true;
      wake();
    };
    res.on('close', onClose);
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    let ended = (): void => undefined;
    const handle = (): void => wake();
    this.open.set(handle, new Promise<void>((resolve) => (ended = resolve)));
    let lastWrite = Date.now();
    const send = (text: string): void => {
      res.write(text);
      lastWrite = Date.now();
    };
    try {
      while (!closed) {
        if (this.stopping || this.draining()) {
          send(frame({ event: 'end', data: { reason: 'shutdown', detail: 'This replica is shutting down; reconnect to follow the run.' } }));
          break;
        }
        const { frames, done, more } = await tick();
        if (closed) break;
        for (const f of frames) send(frame(f));
        if (done) {
          send(frame({ event: 'end', data: { reason: 'finished' } }));
          break;
        }
        if (Date.now() - lastWrite >= heartbeatMs) send(`: heartbeat ${new Date().toISOString()}\n\n`);
        if (!more) await sleep(Math.min(pollMs, heartbeatMs));
      }
    } catch (err) {
      if (!(err instanceof AppError)) this.logger.warn(`progress stream ${request.url} failed: ${err instanceof Error ? err.message : String(err)}`);
      const detail = err instanceof AppError ? err.detail : 'The stream failed; reconnect, or read the run with GET.';
      if (!closed) send(frame({ event: 'error', data: { detail } }));
    } finally {
      res.off('close', onClose);
      if (!closed) res.end();
      this.open.delete(handle);
      ended();
    }
  }

  /** The HTTP server stops listening when the replica starts draining (main.ts). */
  private draining(): boolean {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    return server !== undefined && !server.listening;
  }
}

/** One event in the text/event-stream format; JSON holds no raw line breaks, so `data` is a single line. */
export function frame({ event, data, id }: ProgressFrame): string {
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The OpenAPI schema of one event of a progress stream (before OpenAPI 3.2, `schema` of text/event-stream describes each event). */
export const PROGRESS_EVENT_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    event: { type: 'string', enum: ['run', 'log', 'end', 'error'] },
    data: { type: 'string', description: 'JSON: the run (run), {lines} (log), {reason} (end), {detail} (error)' },
    id: { type: 'string', description: 'On log events: the log cursor, sent back as Last-Event-ID to resume' },
    retry: { type: 'integer' },
  },
};
