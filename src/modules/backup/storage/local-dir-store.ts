import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertSafeKey, BackupDestination, BackupObjectMissingError, BackupStore, BackupStoreError, StoredObject } from './backup-store';

/**
 * A backup store in a local directory. Objects are written to a temporary name, fsynced and renamed into place;
 * putFile hashes the bytes as it copies them and stores nothing when they are not the expected sha256.
 */
export class LocalDirStore implements BackupStore {
  readonly kind: BackupDestination = 'local';
  readonly location: string;

  constructor(private readonly root: string) {
    this.location = path.resolve(root);
  }

  async putFile(key: string, file: string, expected: { sha256: string; size: number }, signal?: AbortSignal): Promise<void> {
    const target = this.pathOf(key);
    await this.atomically(target, async (tmp) => {
      const hash = createHash('sha256');
      const tap = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      await pipeline(fs.createReadStream(file), tap, fs.createWriteStream(tmp, { flags: 'wx' }), { signal });
      const { size } = await fs.promises.stat(tmp);
      if (size !== expected.size)
        throw new BackupStoreError(this.location, `${key}: wrote ${size} bytes, expected ${expected.size} (the source changed while it was copied)`);
      const sha256 = hash.digest('hex');
      if (sha256 !== expected.sha256)
        throw new BackupStoreError(this.location, `${key}: the bytes read have sha256 ${sha256}, expected ${expected.sha256}; nothing was stored`);
    });
  }

  async putBytes(key: string, body: Buffer, signal?: AbortSignal): Promise<void> {
    await this.atomically(this.pathOf(key), (tmp) => fs.promises.writeFile(tmp, body, { flag: 'wx', signal }));
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    try {
      const s = await fs.promises.stat(this.pathOf(key));
      return s.isFile() ? { size: s.size } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.failure(`cannot read ${key}`, err);
    }
  }

  async getFile(key: string, file: string, signal?: AbortSignal): Promise<void> {
    const source = this.pathOf(key);
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await pipeline(fs.createReadStream(source), fs.createWriteStream(tmp, { flags: 'wx' }), { signal });
      await fs.promises.rename(tmp, file);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BackupObjectMissingError(this.location, key);
      throw err;
    }
  }

  async getBytes(key: string, signal?: AbortSignal): Promise<Buffer> {
    try {
      return await fs.promises.readFile(this.pathOf(key), { signal });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BackupObjectMissingError(this.location, key);
      throw this.failure(`cannot read ${key}`, err);
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries: fs.Dirent[];
      try {
        entries = await fs.promises.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw this.failure(`cannot list ${rel || '/'}`, err);
      }
      for (const e of entries) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(path.join(dir, e.name), key);
        } else if (e.isFile() && key.startsWith(prefix) && !e.name.endsWith('.tmp')) {
          const s = await fs.promises.stat(path.join(dir, e.name));
          out.push({ key, size: s.size, modified: s.mtime });
        }
      }
    };
    await walk(this.location, '');
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) await fs.promises.rm(this.pathOf(key), { force: true });
  }

  private pathOf(key: string): string {
    assertSafeKey(key);
    return path.join(this.location, ...key.split('/'));
  }

  private async atomically(target: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      await write(tmp);
      const handle = await fs.promises.open(tmp, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.promises.rename(tmp, target);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
      if (err instanceof BackupStoreError) throw err;
      throw this.failure(`cannot write ${path.relative(this.location, target)}`, err);
    }
  }

  private failure(what: string, err: unknown): BackupStoreError {
    const code = (err as NodeJS.ErrnoException).code;
    const hint = code === 'ENOSPC' ? ' (the disk is full: free space or move BACKUP_LOCAL_DIR)' : code === 'EACCES' ? ' (permission denied)' : '';
    return new BackupStoreError(this.location, `${what}: ${err instanceof Error ? err.message : String(err)}${hint}`, { cause: err });
  }
}
