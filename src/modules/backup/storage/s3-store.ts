import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tls from 'node:tls';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectCommandInput,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { AppConfig } from '../../../config/config.schema';
import { assertSafeKey, BackupDestination, BackupObjectMissingError, BackupStore, BackupStoreError, StoredObject } from './backup-store';

/** Multipart part size: objects up to this size go in one PUT, larger ones in parts of this size. */
export const S3_PART_SIZE = 8 * 1024 * 1024;
/** Parts in flight at once per multipart upload. */
const S3_QUEUE_SIZE = 4;
/** ListObjectsV2 answers and DeleteObjects takes at most this many keys per request. */
const S3_MAX_BATCH = 1000;

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix under which every object is stored ('' for the bucket root). */
  prefix: string;
  region: string;
  /** An S3-compatible endpoint (MinIO, moto, a VPC endpoint); path-style addressing is used with it. */
  endpoint?: string;
  /** PEM file of extra CA certificates trusted for the endpoint, besides the system's. */
  caFile?: string;
  /** SSE-KMS under this key when set, else SSE-S3 (AES256). */
  kmsKeyId?: string;
  /** Attempts per request (the SDK's standard retry mode: 5xx, throttling, timeouts, refused connections). */
  maxAttempts?: number;
  /** Time to establish a TCP connection. */
  connectTimeoutMs?: number;
  /** A request whose socket sees no byte for this long fails (and is retried): a server that stopped answering. */
  idleTimeoutMs?: number;
  /** Keys per ListObjectsV2 page and per DeleteObjects request (at most 1000, S3's limit; tests use fewer). */
  batchSize?: number;
}

/**
 * A backup store in an S3 bucket (or an S3-compatible server). Credentials come from the AWS SDK's default
 * provider chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a web identity (IRSA), or the instance role.
 *
 * Every object is written with a SHA-256 checksum that S3 verifies on arrival: a single PUT carries the
 * caller's sha256; a multipart upload (objects over 8 MiB) carries one per part. The whole file is also hashed
 * as it is read, before the object is completed, so bytes that are not the expected ones store nothing (this
 * also holds for S3-compatible servers that do not check checksums).
 * The whole-file sha256 is kept as the object's `sha256` metadata, and downloads are checked against it.
 */
export class S3Store implements BackupStore {
  readonly kind: BackupDestination = 's3';
  readonly location: string;
  private readonly client: S3Client;
  private readonly root: string;
  private readonly encryption: Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId'>;
  private readonly batchSize: number;

  constructor(private readonly options: S3StoreOptions) {
    this.root = options.prefix.replace(/^\/+|\/+$/g, '');
    this.batchSize = Math.min(options.batchSize ?? S3_MAX_BATCH, S3_MAX_BATCH);
    this.location = `s3://${options.bucket}${this.root ? `/${this.root}` : ''}`;
    this.encryption = options.kmsKeyId ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: options.kmsKeyId } : { ServerSideEncryption: 'AES256' };
    let ca: string[] | undefined;
    if (options.caFile) {
      try {
        ca = [...tls.rootCertificates, fs.readFileSync(options.caFile, 'utf8')];
      } catch (err) {
        throw new BackupStoreError(this.location, `cannot read BACKUP_S3_CA_FILE ${options.caFile}: ${(err as Error).message}`, { cause: err });
      }
    }
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.endpoint !== undefined,
      retryMode: 'standard',
      maxAttempts: options.maxAttempts ?? 4,
      // The SDK builds its NodeHttpHandler from these options; the CA is trusted through the agent, TLS checks stay on.
      requestHandler: {
        connectionTimeout: options.connectTimeoutMs ?? 10_000,
        socketTimeout: options.idleTimeoutMs ?? 60_000,
        httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 32, ...(ca ? { ca } : {}) }),
      },
    });
  }

  static fromConfig(config: AppConfig): S3Store {
    if (!config.BACKUP_S3_BUCKET) throw new Error('BACKUP_S3_BUCKET is not set');
    return new S3Store({
      bucket: config.BACKUP_S3_BUCKET,
      prefix: config.BACKUP_S3_PREFIX,
      region: config.BACKUP_S3_REGION,
      endpoint: config.BACKUP_S3_ENDPOINT,
      caFile: config.BACKUP_S3_CA_FILE,
      kmsKeyId: config.BACKUP_S3_KMS_KEY_ID,
    });
  }

  async putFile(key: string, file: string, expected: { sha256: string; size: number }, signal?: AbortSignal): Promise<void> {
    const objectKey = this.objectKey(key);
    try {
      if (expected.size <= S3_PART_SIZE) {
        const body = await fs.promises.readFile(file, { signal });
        if (body.length !== expected.size)
          throw new BackupStoreError(
            this.location,
            `${key}: read ${body.length} bytes from ${file}, expected ${expected.size} (the source changed while it was copied)`,
          );
        // S3 checks the sha256 on arrival too; checking here first also holds for S3-compatible servers that do not.
        const sha256 = createHash('sha256').update(body).digest('hex');
        if (sha256 !== expected.sha256)
          throw new BackupStoreError(this.location, `${key}: the bytes read have sha256 ${sha256}, expected ${expected.sha256}; nothing was stored`);
        await this.putSingle(objectKey, body, expected.sha256, signal);
      } else {
        await this.putMultipart(key, objectKey, fs.createReadStream(file), expected, signal);
      }
    } catch (err) {
      throw this.failure(`cannot write ${key}`, err, undefined, signal);
    }
  }

  async putBytes(key: string, body: Buffer, signal?: AbortSignal): Promise<void> {
    const objectKey = this.objectKey(key);
    const sha256 = createHash('sha256').update(body).digest('hex');
    try {
      if (body.length <= S3_PART_SIZE) await this.putSingle(objectKey, body, sha256, signal);
      else await this.putMultipart(key, objectKey, Readable.from([body]), { sha256, size: body.length }, signal);
    } catch (err) {
      throw this.failure(`cannot write ${key}`, err, undefined, signal);
    }
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    const objectKey = this.objectKey(key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: objectKey }));
      return { size: head.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.failure(`cannot read ${key}`, err, key);
    }
  }

  async getFile(key: string, file: string, signal?: AbortSignal): Promise<void> {
    const objectKey = this.objectKey(key);
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: objectKey }), { abortSignal: signal });
      const hash = createHash('sha256');
      const tap = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      await pipeline(res.Body as Readable, tap, fs.createWriteStream(tmp, { flags: 'wx' }), { signal });
      this.checkDownload(key, res.Metadata?.sha256, hash.digest('hex'));
      await fs.promises.rename(tmp, file);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw this.failure(`cannot read ${key}`, err, key, signal);
    }
  }

  async getBytes(key: string, signal?: AbortSignal): Promise<Buffer> {
    const objectKey = this.objectKey(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: objectKey }), { abortSignal: signal });
      const body = Buffer.from(await res.Body!.transformToByteArray());
      this.checkDownload(key, res.Metadata?.sha256, createHash('sha256').update(body).digest('hex'));
      return body;
    } catch (err) {
      throw this.failure(`cannot read ${key}`, err, key, signal);
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const base = this.root ? `${this.root}/` : '';
    const out: StoredObject[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: base + prefix, ContinuationToken: token, MaxKeys: this.batchSize }),
        );
        for (const o of page.Contents ?? []) {
          if (!o.Key?.startsWith(base)) continue;
          out.push({ key: o.Key.slice(base.length), size: o.Size ?? 0, modified: o.LastModified ?? new Date(0) });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.failure(`cannot list ${prefix || '/'}`, err);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: readonly string[]): Promise<void> {
    const objectKeys = keys.map((k) => this.objectKey(k));
    for (let i = 0; i < objectKeys.length; i += this.batchSize) {
      const batch = objectKeys.slice(i, i + this.batchSize);
      let errors: { Key?: string; Code?: string; Message?: string }[];
      try {
        const res = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.options.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        );
        errors = res.Errors ?? [];
      } catch (err) {
        throw this.failure(`cannot delete ${batch.length} object(s)`, err);
      }
      if (errors.length > 0) {
        const first = errors[0];
        throw new BackupStoreError(
          this.location,
          `cannot delete ${errors.length} object(s), first ${first.Key}: ${first.Code} ${first.Message ?? ''}`.trim() +
            (first.Code === 'AccessDenied' ? ' (the credentials need s3:DeleteObject on the bucket)' : ''),
        );
      }
    }
  }

  /** Stops the client's keep-alive sockets. */
  destroy(): void {
    this.client.destroy();
  }

  private async putSingle(objectKey: string, body: Buffer, sha256: string, signal?: AbortSignal): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.options.bucket,
        Key: objectKey,
        Body: body,
        ContentLength: body.length,
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
        Metadata: { sha256 },
        ...this.encryption,
      }),
      { abortSignal: signal },
    );
  }

  /**
   * Multipart upload: S3 checks each part against the SHA-256 the SDK computes for it. The whole file is hashed as
   * it is read; a size or sha256 that differs from `expected` fails the read before the last part is sent, so the
   * upload is aborted and never completed.
   */
  private async putMultipart(
    key: string,
    objectKey: string,
    source: Readable,
    expected: { sha256: string; size: number },
    signal?: AbortSignal,
  ): Promise<void> {
    const location = this.location;
    const verified = Readable.from(
      (async function* () {
        const hash = createHash('sha256');
        let size = 0;
        for await (const chunk of source) {
          const buf = chunk as Buffer;
          hash.update(buf);
          size += buf.length;
          if (size > expected.size)
            throw new BackupStoreError(location, `${key}: the source is larger than the expected ${expected.size} bytes (it changed while it was copied)`);
          yield buf;
        }
        const sha256 = hash.digest('hex');
        if (size !== expected.size)
          throw new BackupStoreError(location, `${key}: read ${size} bytes, expected ${expected.size} (the source changed while it was copied)`);
        if (sha256 !== expected.sha256)
          throw new BackupStoreError(location, `${key}: the bytes read have sha256 ${sha256}, expected ${expected.sha256}; nothing was stored`);
      })(),
    );
    const upload = new Upload({
      client: this.client,
      partSize: S3_PART_SIZE,
      queueSize: S3_QUEUE_SIZE,
      leavePartsOnError: false,
      params: {
        Bucket: this.options.bucket,
        Key: objectKey,
        Body: verified,
        ContentLength: expected.size,
        ChecksumAlgorithm: 'SHA256',
        Metadata: { sha256: expected.sha256 },
        ...this.encryption,
      },
    });
    const onAbort = () => void upload.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      signal?.throwIfAborted();
      await upload.done();
    } finally {
      signal?.removeEventListener('abort', onAbort);
      source.destroy();
    }
    const head = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: objectKey }));
    if (head.ContentLength !== expected.size) {
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.options.bucket, Delete: { Objects: [{ Key: objectKey }], Quiet: true } }));
      throw new BackupStoreError(this.location, `${key}: S3 stored ${head.ContentLength} bytes, expected ${expected.size}; the object was deleted`);
    }
  }

  private checkDownload(key: string, recorded: string | undefined, actual: string): void {
    if (recorded !== undefined && recorded !== actual)
      throw new BackupStoreError(
        this.location,
        `${key}: the downloaded bytes have sha256 ${actual}, but the object was stored with ${recorded} (it was changed in the bucket)`,
      );
  }

  private objectKey(key: string): string {
    assertSafeKey(key);
    return this.root ? `${this.root}/${key}` : key;
  }

  /**
   * Maps an SDK or network error to BackupStoreError (with what to check), or to BackupObjectMissingError when
   * reading `key` found nothing; a cancelled call's AbortError is rethrown as it is.
   */
  private failure(what: string, err: unknown, key?: string, signal?: AbortSignal): Error {
    if (err instanceof BackupStoreError || err instanceof BackupObjectMissingError) return err;
    if (signal?.aborted || (err as Error)?.name === 'AbortError') return err as Error;
    if (key !== undefined && isNotFound(err)) return new BackupObjectMissingError(this.location, key);
    return new BackupStoreError(this.location, `${what}: ${describe(err)}${this.hint(err)}`, { cause: err });
  }

  private hint(err: unknown): string {
    const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number; attempts?: number } };
    const name = e?.name ?? '';
    const code = e?.code ?? '';
    const status = e?.$metadata?.httpStatusCode;
    const attempts = e?.$metadata?.attempts;
    const endpoint = this.options.endpoint ?? `the S3 endpoint of region ${this.options.region}`;
    if (name === 'NoSuchBucket') return ` (check BACKUP_S3_BUCKET: bucket '${this.options.bucket}' does not exist in ${endpoint})`;
    if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(e?.message ?? ''))
      return ' (no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give the service an IAM role, e.g. IRSA)';
    if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken'].includes(name))
      return ' (check the AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the role the service runs as)';
    if (/kms/i.test(name) || /kms/i.test(e?.message ?? ''))
      return ` (check BACKUP_S3_KMS_KEY_ID '${this.options.kmsKeyId ?? ''}': the key must exist, be enabled, and allow kms:GenerateDataKey and kms:Decrypt to these credentials)`;
    if (name === 'AccessDenied' || status === 403)
      return ` (access denied: the credentials need s3:PutObject, s3:GetObject, s3:ListBucket and s3:DeleteObject on bucket '${this.options.bucket}')`;
    if (['BadDigest', 'InvalidDigest', 'XAmzContentSHA256Mismatch'].includes(name) || /checksum/i.test(e?.message ?? ''))
      return ' (the bytes that arrived do not match their sha256: the source changed or was corrupted on the way; nothing was stored)';
    if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || status === 301)
      return ` (check BACKUP_S3_REGION: bucket '${this.options.bucket}' is in another region than ${this.options.region})`;
    if (TLS_CODES.has(code))
      return ` (the TLS certificate of ${endpoint} is not trusted: set BACKUP_S3_CA_FILE to the PEM of its CA, and check the host name matches)`;
    if (name === 'TimeoutError' || NETWORK_CODES.has(code))
      return ` (cannot reach ${endpoint}${attempts ? ` after ${attempts} attempts` : ''}: check BACKUP_S3_ENDPOINT, DNS and the network or proxy)`;
    if (status !== undefined && status >= 500)
      return ` (S3 answered ${status}${attempts ? ` after ${attempts} attempts` : ''}: the service is failing: try again later)`;
    return '';
  }
}

const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

function isNotFound(err: unknown): boolean {
  if (err instanceof S3ServiceException)
    return err.name === 'NoSuchKey' || err.name === 'NotFound' || (err.$metadata.httpStatusCode === 404 && err.name !== 'NoSuchBucket');
  return false;
}

function describe(err: unknown): string {
  if (err instanceof S3ServiceException) return `${err.name}${err.$metadata.httpStatusCode ? ` (HTTP ${err.$metadata.httpStatusCode})` : ''}: ${err.message}`;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return `${code ? `${code}: ` : ''}${err.message || err.name}`;
  }
  return String(err);
}
