import * as http from 'node:http';
import type { Json } from './json';

export interface FakeKubernetes {
  url: string;
  jobs: Map<string, Json>;
  deleted: string[];
  requests: string[];
  close(): Promise<void>;
}

/**
 * A local stand-in for the Kubernetes API server, at the HTTP level: stores Jobs, reports a Job
 * Complete (or Failed) after `pollsUntilDone` reads, lists its pod and serves the pod's log.
 */
export async function startFakeKubernetes(opts: {
  token: string;
  podLog: (jobName: string) => string;
  pollsUntilDone: number;
  outcome: 'Complete' | 'Failed';
}): Promise<FakeKubernetes> {
  const jobs = new Map<string, Json>();
  const reads = new Map<string, number>();
  const deleted: string[] = [];
  const requests: string[] = [];
  const send = (res: http.ServerResponse, status: number, body: unknown, type = 'application/json') => {
    res.writeHead(status, { 'content-type': type });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const notFound = (res: http.ServerResponse, what: string) =>
    send(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `${what} not found`, reason: 'NotFound', code: 404 });

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://fake');
      requests.push(`${req.method} ${url.pathname}`);
      if (req.headers.authorization !== `Bearer ${opts.token}`) return send(res, 401, { kind: 'Status', code: 401, message: 'Unauthorized' });
      let m: RegExpMatchArray | null;
      if (req.method === 'POST' && (m = url.pathname.match(/^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs$/))) {
        const job = JSON.parse(raw);
        job.metadata.namespace = m[1];
        job.metadata.uid = `uid-${jobs.size + 1}`;
        job.status = {};
        jobs.set(job.metadata.name, job);
        return send(res, 201, job);
      }
      if ((m = url.pathname.match(/^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs\/([^/]+)$/))) {
        const job = jobs.get(m[2]);
        if (!job) return notFound(res, `jobs.batch "${m[2]}"`);
        if (req.method === 'DELETE') {
          jobs.delete(m[2]);
          deleted.push(m[2]);
          return send(res, 200, { kind: 'Status', status: 'Success' });
        }
        const n = (reads.get(m[2]) ?? 0) + 1;
        reads.set(m[2], n);
        if (n >= opts.pollsUntilDone) {
          job.status = { conditions: [{ type: opts.outcome, status: 'True', reason: opts.outcome === 'Failed' ? 'BackoffLimitExceeded' : undefined }] };
        } else {
          job.status = { active: 1 };
        }
        return send(res, 200, job);
      }
      if (req.method === 'GET' && (m = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods$/))) {
        const selector = url.searchParams.get('labelSelector') ?? '';
        const items = [...jobs.values()]
          .filter((j) =>
            selector.split(',').every((kv) => {
              const [k, v] = kv.split('=');
              return j.metadata.labels?.[k] === v;
            }),
          )
          .map((j) => ({
            metadata: { name: `${j.metadata.name}-pod`, namespace: m![1], labels: j.metadata.labels },
            status: { containerStatuses: [{ name: 'trainer', state: { terminated: { exitCode: opts.outcome === 'Complete' ? 0 : 1 } } }] },
          }));
        return send(res, 200, { kind: 'PodList', apiVersion: 'v1', items });
      }
      if (req.method === 'GET' && (m = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/))) {
        const jobName = m[2].replace(/-pod$/, '');
        if (!jobs.has(jobName)) return notFound(res, `pods "${m[2]}"`);
        return send(res, 200, opts.podLog(jobName), 'text/plain');
      }
      return notFound(res, url.pathname);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    jobs,
    deleted,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
