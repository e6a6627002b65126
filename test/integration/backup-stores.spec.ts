/**
 * @jest-environment ./test/support/node-errors-environment.js
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../../src/config/config';
import { BackupObjectMissingError, BackupStore, BackupStoreError } from '../../src/modules/backup/storage/backup-store';
import { createBackupStores } from '../../src/modules/backup/storage/backup-stores';
import { LocalDirStore } from '../../src/modules/backup/storage/local-dir-store';
import { S3Store, S3StoreOptions } from '../../src/modules/backup/storage/s3-store';
import { FaultProxy } from '../support/fault-proxy';
import { MOTO_CREDENTIALS, MotoS3, startFailingS3, startMotoS3 } from '../support/moto-server';
import { freePort } from '../support/processes';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Bytes that differ at every 4 KiB (so a misplaced part would change the hash). */
function patterned(size: number, seed: number): Buffer {
  const buf = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4096) buf.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  return buf;
}

/** Polls a condition (every 20 ms, at most 10 s). */
async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}

let work: string;
let moto: MotoS3;
const stores: S3Store[] = [];

beforeAll(async () => {
  // The S3 store takes its credentials from the SDK's default chain: the environment here, as in a pod without IRSA.
  Object.assign(process.env, MOTO_CREDENTIALS);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-stores-'));
  moto = await startMotoS3();
});

afterAll(async () => {
  for (const s of stores) s.destroy();
  await moto?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

function s3Store(overrides: Partial<S3StoreOptions> = {}): S3Store {
  const store = new S3Store({ bucket: moto.bucket, prefix: 'churn-test', region: moto.region, endpoint: moto.endpoint, caFile: moto.caFile, ...overrides });
  stores.push(store);
  return store;
}

/** A client of our own to look at the bucket as an operator would (aws s3api head-object). */
function rawS3(): S3Client {
  return new S3Client({
    region: moto.region,
    endpoint: moto.endpoint,
    forcePathStyle: true,
    requestHandler: { httpsAgent: new https.Agent({ ca: fs.readFileSync(moto.caFile) }) },
  });
}

function writeTemp(name: string, body: Buffer): string {
  const file = path.join(work, name);
  fs.writeFileSync(file, body);
  return file;
}

/** Behaviour every backup store has, whatever is behind it. */
function contract(make: () => BackupStore): void {
  let store: BackupStore;
  beforeAll(() => {
    store = make();
  });

  it('stores, reads, lists and deletes objects under their keys', async () => {
    const manifest = Buffer.from(JSON.stringify({ id: 'b1', objects: 1 }));
    const object = patterned(300_000, 1);
    const objectKey = `objects/sha256/${sha256(object).slice(0, 2)}/${sha256(object)}`;
    await store.putBytes('manifests/b1.json', manifest);
    await store.putFile(objectKey, writeTemp('object.bin', object), { sha256: sha256(object), size: object.length });

    expect(await store.stat('manifests/b1.json')).toEqual({ size: manifest.length });
    expect(await store.stat(objectKey)).toEqual({ size: object.length });
    expect(await store.stat('manifests/none.json')).toBeUndefined();
    expect(await store.getBytes('manifests/b1.json')).toEqual(manifest);
    const out = path.join(work, 'restored', 'object.bin');
    await store.getFile(objectKey, out);
    expect(sha256(fs.readFileSync(out))).toBe(sha256(object));

    const listed = await store.list('');
    expect(listed.map((o) => o.key)).toEqual([objectKey, 'manifests/b1.json'].sort());
    expect(listed.find((o) => o.key === objectKey)?.size).toBe(object.length);
    expect(Math.abs(Date.now() - listed[0].modified.getTime())).toBeLessThan(60_000);
    expect((await store.list('manifests/')).map((o) => o.key)).toEqual(['manifests/b1.json']);

    await store.delete([objectKey, 'manifests/b1.json', 'manifests/never-written.json']);
    expect(await store.list('')).toEqual([]);
    expect(await store.stat(objectKey)).toBeUndefined();
  });

  it('round-trips a 20 MiB object with the same sha256', async () => {
    const big = patterned(20 * MiB, 2);
    await store.putFile('objects/big', writeTemp('big.bin', big), { sha256: sha256(big), size: big.length });
    expect(await store.stat('objects/big')).toEqual({ size: big.length });
    const out = path.join(work, 'big.out');
    await store.getFile('objects/big', out);
    expect(sha256(fs.readFileSync(out))).toBe(sha256(big));
    await store.delete(['objects/big']);
  });

  it.each([
    ['a small object', 1000],
    ['a multipart object', 9 * MiB + 1],
  ])('refuses %s whose bytes are not the expected sha256, and stores nothing under the key', async (_what, size) => {
    const body = patterned(size, 3);
    const wrong = sha256(Buffer.from('something else'));
    const file = writeTemp(`wrong-${size}.bin`, body);
    const err = await store.putFile('objects/wrong', file, { sha256: wrong, size }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackupStoreError);
    expect((err as BackupStoreError).store).toBe(store.location);
    expect((err as Error).message).toContain(wrong);
    expect(await store.stat('objects/wrong')).toBeUndefined();
    expect(await store.list('objects/')).toEqual([]);
  });

  it('leaves no object when a write fails: the source is missing, or the copy is cancelled', async () => {
    const missing = path.join(work, 'no-such-file');
    await expect(store.putFile('objects/failed', missing, { sha256: sha256(Buffer.alloc(0)), size: 0 })).rejects.toThrow();
    const body = patterned(2000, 4);
    const cancelled = AbortSignal.abort();
    await expect(store.putFile('objects/cancelled', writeTemp('c.bin', body), { sha256: sha256(body), size: body.length }, cancelled)).rejects.toThrow();
    await expect(store.putBytes('objects/cancelled-bytes', body, cancelled)).rejects.toThrow();
    expect(await store.list('')).toEqual([]);
  });

  it('reports a missing object as BackupObjectMissingError, and writes no file for it', async () => {
    await expect(store.getBytes('manifests/missing.json')).rejects.toBeInstanceOf(BackupObjectMissingError);
    const out = path.join(work, 'missing', 'out.bin');
    const err = await store.getFile('objects/missing', out).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackupObjectMissingError);
    expect(err).toMatchObject({ key: 'objects/missing', store: store.location });
    expect(fs.readdirSync(path.dirname(out))).toEqual([]);
  });
}

describe('LocalDirStore', () => {
  contract(() => new LocalDirStore(path.join(work, 'local-store')));
});

describe('S3Store against moto over TLS', () => {
  contract(() => s3Store());

  it('uploads a large object in 8 MiB parts, with SSE-KMS under the configured key and the sha256 as metadata', async () => {
    const store = s3Store({ prefix: 'kms', kmsKeyId: moto.kmsKeyId });
    const big = patterned(20 * MiB, 5);
    const small = Buffer.from('{"manifest":true}');
    await store.putFile('objects/big', writeTemp('kms-big.bin', big), { sha256: sha256(big), size: big.length });
    await store.putBytes('manifests/m.json', small);
    const s3 = rawS3();
    try {
      const bigHead = await s3.send(new HeadObjectCommand({ Bucket: moto.bucket, Key: 'kms/objects/big' }));
      expect(bigHead).toMatchObject({
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: moto.kmsKeyId,
        ContentLength: big.length,
        Metadata: { sha256: sha256(big) },
      });
      // A multipart object's ETag ends in the number of parts: 20 MiB in 8 MiB parts is 3.
      expect(bigHead.ETag).toMatch(/-3"$/);
      const smallHead = await s3.send(new HeadObjectCommand({ Bucket: moto.bucket, Key: 'kms/manifests/m.json' }));
      expect(smallHead).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: moto.kmsKeyId, Metadata: { sha256: sha256(small) } });
    } finally {
      s3.destroy();
    }
  });

  it('encrypts with SSE-S3 (AES256) when no KMS key is configured', async () => {
    const store = s3Store({ prefix: 'sse-s3' });
    await store.putBytes('manifests/m.json', Buffer.from('{}'));
    const s3 = rawS3();
    try {
      const head = await s3.send(new HeadObjectCommand({ Bucket: moto.bucket, Key: 'sse-s3/manifests/m.json' }));
      expect(head.ServerSideEncryption).toBe('AES256');
      expect(head.SSEKMSKeyId).toBeUndefined();
    } finally {
      s3.destroy();
    }
  });

  it('refuses a download whose bytes were changed in the bucket', async () => {
    const store = s3Store({ prefix: 'tamper' });
    const original = Buffer.from('the original backup object');
    await store.putBytes('objects/o', original);
    const s3 = rawS3();
    try {
      // Someone rewrites the object behind our back and keeps its metadata.
      await s3.send(
        new PutObjectCommand({ Bucket: moto.bucket, Key: 'tamper/objects/o', Body: 'the changed backup object!', Metadata: { sha256: sha256(original) } }),
      );
    } finally {
      s3.destroy();
    }
    await expect(store.getBytes('objects/o')).rejects.toThrow(/objects\/o: the downloaded bytes have sha256 .* but the object was stored with/);
    const out = path.join(work, 'tampered.out');
    await expect(store.getFile('objects/o', out)).rejects.toBeInstanceOf(BackupStoreError);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('lists across pages and deletes in batches (3 keys a request here, 1000 by default)', async () => {
    const store = s3Store({ prefix: 'many', batchSize: 3 });
    const keys = Array.from({ length: 8 }, (_, i) => `objects/${String(i).padStart(5, '0')}`);
    await Promise.all(keys.map((k) => store.putBytes(k, Buffer.from(k))));
    await store.putBytes('manifests/m.json', Buffer.from('{}'));
    expect((await store.list('objects/')).map((o) => o.key)).toEqual(keys);
    await store.delete(keys);
    expect((await store.list('')).map((o) => o.key)).toEqual(['manifests/m.json']);
  });

  it('is built by createBackupStores from BACKUP_S3_* when BACKUP_S3_BUCKET is set, after the local store', async () => {
    const config = loadConfig({
      DATA_DIR: path.join(work, 'data'),
      BACKUP_S3_BUCKET: moto.bucket,
      BACKUP_S3_PREFIX: 'from-config',
      BACKUP_S3_ENDPOINT: moto.endpoint,
      BACKUP_S3_CA_FILE: moto.caFile,
      BACKUP_S3_KMS_KEY_ID: moto.kmsKeyArn,
    });
    const [local, s3store, ...rest] = createBackupStores(config);
    expect(rest).toEqual([]);
    expect(local.kind).toBe('local');
    expect(s3store).toMatchObject({ kind: 's3', location: `s3://${moto.bucket}/from-config` });
    stores.push(s3store as S3Store);
    await s3store.putBytes('manifests/c.json', Buffer.from('{}'));
    const s3 = rawS3();
    try {
      const head = await s3.send(new HeadObjectCommand({ Bucket: moto.bucket, Key: 'from-config/manifests/c.json' }));
      expect(head).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: moto.kmsKeyArn });
    } finally {
      s3.destroy();
    }
    expect(createBackupStores(loadConfig({ DATA_DIR: path.join(work, 'data') })).map((s) => s.kind)).toEqual(['local']);
  });

  describe('failures are a BackupStoreError naming the store, within a bound', () => {
    const expectStoreError = async (store: S3Store, op: Promise<unknown>, message: RegExp, withinMs: number) => {
      const started = Date.now();
      const err = await op.catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(withinMs);
      expect(err).toBeInstanceOf(BackupStoreError);
      expect((err as BackupStoreError).store).toBe(store.location);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toContain(store.location);
    };

    it('an endpoint where nothing listens: refused after the SDK retries', async () => {
      const store = s3Store({ endpoint: `https://127.0.0.1:${await freePort()}` });
      await expectStoreError(
        store,
        store.putBytes('manifests/x.json', Buffer.from('{}')),
        /ECONNREFUSED.*cannot reach .* after 4 attempts: check BACKUP_S3_ENDPOINT/,
        15_000,
      );
    });

    it('an endpoint answering 500: four attempts, then the error', async () => {
      const failing = await startFailingS3(moto.tls);
      try {
        const store = s3Store({ endpoint: failing.endpoint });
        await expectStoreError(
          store,
          store.putBytes('manifests/x.json', Buffer.from('{}')),
          /InternalError \(HTTP 500\).*S3 answered 500 after 4 attempts/,
          15_000,
        );
        expect(failing.requests()).toBe(4);
        const listing = store.list('');
        await expectStoreError(store, listing, /HTTP 500/, 15_000);
      } finally {
        await failing.stop();
      }
    });

    it('an endpoint that accepts connections and then never answers: timed out, not hung', async () => {
      const proxy = new FaultProxy({ host: '127.0.0.1', port: moto.port });
      await proxy.start();
      try {
        const store = s3Store({ endpoint: proxy.url.replace('http://', 'https://'), idleTimeoutMs: 1000, connectTimeoutMs: 1000 });
        await store.putBytes('manifests/through-proxy.json', Buffer.from('{}'));
        proxy.set({ kind: 'freeze' });
        await expectStoreError(store, store.stat('manifests/through-proxy.json'), /timed out .*cannot reach .* after 4 attempts/, 30_000);
        expect(proxy.chunksFromClients.freeze).toBeGreaterThan(0);
      } finally {
        await proxy.stop();
      }
    });

    it('a cancelled write stops at once while the server does not answer, and leaves no object', async () => {
      const proxy = new FaultProxy({ host: '127.0.0.1', port: moto.port });
      await proxy.start();
      try {
        const store = s3Store({ prefix: 'cancel', endpoint: proxy.url.replace('http://', 'https://') });
        const big = patterned(20 * MiB, 6);
        const file = writeTemp('cancel-big.bin', big);
        await store.putBytes('manifests/warm.json', Buffer.from('{}'));
        proxy.set({ kind: 'freeze' });
        for (const write of [
          (signal: AbortSignal) => store.putBytes('manifests/cancelled.json', Buffer.from('{}'), signal),
          (signal: AbortSignal) => store.putFile('objects/cancelled', file, { sha256: sha256(big), size: big.length }, signal),
        ]) {
          const controller = new AbortController();
          const pending = write(controller.signal).then(
            () => 'stored',
            (e: Error) => e.name,
          );
          await waitFor(() => proxy.chunksFromClients.freeze > 0);
          const cancelledAt = Date.now();
          controller.abort();
          expect(await pending).toBe('AbortError');
          expect(Date.now() - cancelledAt).toBeLessThan(2000);
          proxy.chunksFromClients.freeze = 0;
        }
        proxy.set({ kind: 'pass' });
        expect((await s3Store({ prefix: 'cancel' }).list('')).map((o) => o.key)).toEqual(['manifests/warm.json']);
      } finally {
        await proxy.stop();
      }
    });

    it('a server certificate from a CA that is not trusted: says to set BACKUP_S3_CA_FILE', async () => {
      const store = s3Store({ caFile: undefined });
      await expectStoreError(store, store.putBytes('manifests/x.json', Buffer.from('{}')), /not trusted: set BACKUP_S3_CA_FILE/, 15_000);
    });

    it('a bucket that does not exist: says to check BACKUP_S3_BUCKET', async () => {
      const store = s3Store({ bucket: 'no-such-bucket' });
      await expectStoreError(store, store.putBytes('manifests/x.json', Buffer.from('{}')), /NoSuchBucket.*check BACKUP_S3_BUCKET/, 15_000);
      await expectStoreError(store, store.list(''), /check BACKUP_S3_BUCKET/, 15_000);
    });
  });
});
