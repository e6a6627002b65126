import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort, run, stopGroup } from './processes';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * The static credentials moto accepts (it does not check them); set them in the environment of the client under test.
 * The instance-metadata lookup of the SDK's credential chain is switched off, so a test never reaches past loopback.
 */
export const MOTO_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
} as const;

export interface TestTls {
  dir: string;
  /** PEM of the self-signed CA that signed the server certificate: what a client trusts (BACKUP_S3_CA_FILE, repo-storage-ca-file). */
  caFile: string;
  /** Server certificate for 127.0.0.1 and localhost, and its key. */
  certFile: string;
  keyFile: string;
}

export interface MotoS3 {
  /** https://127.0.0.1:PORT — S3 and KMS on one port. */
  endpoint: string;
  port: number;
  caFile: string;
  bucket: string;
  region: string;
  /** A KMS key created on the same server, for SSE-KMS. */
  kmsKeyId: string;
  kmsKeyArn: string;
  tls: TestTls;
  /** Log of moto_server, for failures. */
  logFile: string;
  stop(): Promise<void>;
}

/** A throwaway CA and a server certificate it signed, generated with openssl into a new temporary directory. */
export async function makeTestTls(): Promise<TestTls> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'churn-tls-'));
  const f = (name: string) => path.join(dir, name);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=churn test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1']);
  fs.writeFileSync(
    f('server.ext'),
    [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
    ].join('\n'),
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.pem'),
    '-days',
    '2',
    '-sha256',
    '-extfile',
    f('server.ext'),
  ]);
  return { dir, caFile: f('ca.pem'), certFile: f('server.pem'), keyFile: f('server.key') };
}

/**
 * Starts `.venv/bin/moto_server` (moto[server], a real S3-protocol server, KMS on the same port) on a free
 * loopback port with TLS from a throwaway CA, creates a bucket and a KMS key, and returns how to reach them.
 */
export async function startMotoS3(opts: { bucket?: string } = {}): Promise<MotoS3> {
  const bin = path.join(ROOT, '.venv/bin/moto_server');
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run scripts/setup-python.sh (it installs moto[server] from trainer/requirements-dev.txt)`);
  const tls = await makeTestTls();
  const port = await freePort();
  const logFile = path.join(tls.dir, 'moto.log');
  const log = fs.openSync(logFile, 'a');
  const proc = spawn(bin, ['-H', '127.0.0.1', '-p', String(port), '-c', tls.certFile, '-k', tls.keyFile], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  const endpoint = `https://127.0.0.1:${port}`;
  const ca = fs.readFileSync(tls.caFile);
  const stop = async () => {
    await stopGroup(proc);
    fs.rmSync(tls.dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`moto_server exited with code ${proc.exitCode}:\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`);
      const status = await httpsRequest(endpoint, ca, { method: 'GET', path: '/moto-api/data.json' }).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) break;
      if (Date.now() > deadline) throw new Error(`moto_server did not answer at ${endpoint} within 60 s:\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }

    const bucket = opts.bucket ?? 'churn-backups-test';
    const region = MOTO_CREDENTIALS.AWS_REGION;
    const s3 = new S3Client({
      region,
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: MOTO_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: MOTO_CREDENTIALS.AWS_SECRET_ACCESS_KEY },
      requestHandler: { httpsAgent: new https.Agent({ ca }) },
    });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    } finally {
      s3.destroy();
    }

    // KMS's JSON protocol on the same port; moto routes by the service in the credential scope and does not check signatures.
    const created = await httpsRequest(endpoint, ca, {
      method: 'POST',
      path: '/',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'TrentService.CreateKey',
        authorization: `AWS4-HMAC-SHA256 Credential=${MOTO_CREDENTIALS.AWS_ACCESS_KEY_ID}/20260101/${region}/kms/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify({ Description: 'churn backup test key', KeyUsage: 'ENCRYPT_DECRYPT' }),
    });
    if (created.status !== 200) throw new Error(`moto KMS CreateKey answered ${created.status}: ${created.body}`);
    const { KeyMetadata } = JSON.parse(created.body) as { KeyMetadata: { KeyId: string; Arn: string } };
    return { endpoint, port, caFile: tls.caFile, bucket, region, kmsKeyId: KeyMetadata.KeyId, kmsKeyArn: KeyMetadata.Arn, tls, logFile, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** An HTTPS server on loopback that answers every request with 500 InternalError, as a failing S3 would; it counts the requests. */
export async function startFailingS3(tls: TestTls): Promise<{ endpoint: string; requests: () => number; stop(): Promise<void> }> {
  let requests = 0;
  const server = https.createServer({ cert: fs.readFileSync(tls.certFile), key: fs.readFileSync(tls.keyFile) }, (req, res) => {
    requests++;
    req.resume();
    req.on('end', () => {
      res.writeHead(500, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `https://127.0.0.1:${port}`,
    requests: () => requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function httpsRequest(
  endpoint: string,
  ca: Buffer,
  opts: { method: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(opts.path, endpoint), { method: opts.method, headers: opts.headers, ca, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * A TLS front for moto: moto's own TLS server (werkzeug) closes connections without a TLS close_notify, which
 * pgBackRest 2.45 on OpenSSL 3 reports as "unexpected eof while reading". Node's TLS server closes properly.
 */
export async function tlsFront(moto: MotoS3): Promise<{ port: number; close(): Promise<void> }> {
  const ca = fs.readFileSync(moto.caFile);
  const server = https.createServer({ cert: fs.readFileSync(moto.tls.certFile), key: fs.readFileSync(moto.tls.keyFile) }, (req, res) => {
    const upstream = https.request({ host: '127.0.0.1', port: moto.port, method: req.method, path: req.url, headers: req.headers, ca }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    upstream.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
