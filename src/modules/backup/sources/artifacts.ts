import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256File } from '../content-objects';
import { ManifestArtifact } from '../manifest';

/**
 * Every file under MLflow's artifact root with its size and sha256. Artifacts are written once and never
 * changed by MLflow, so a file whose path, size and mtime match the previous backup keeps its recorded
 * hash instead of being read again.
 */
export async function listArtifacts(root: string, previous: readonly ManifestArtifact[] = [], signal?: AbortSignal): Promise<ManifestArtifact[]> {
  if (!fs.existsSync(root))
    throw new Error(`MLflow's artifact directory ${root} does not exist: set BACKUP_MLFLOW_ARTIFACTS_DIR to the --artifacts-destination of the MLflow server`);
  const known = new Map(previous.map((a) => [a.path, a]));
  const out: ManifestArtifact[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    const entries = await fs.promises.readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      signal?.throwIfAborted();
      const abs = path.join(dir, e.name);
      const relPath = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(abs, relPath);
      else if (e.isFile()) {
        const stat = await fs.promises.stat(abs);
        const before = known.get(relPath);
        if (before && before.size === stat.size && before.mtime_ms === stat.mtimeMs) out.push(before);
        else out.push({ path: relPath, ...(await sha256File(abs, signal)), mtime_ms: stat.mtimeMs });
      }
    }
  };
  await walk(root, '');
  return out;
}

/** The file of an artifact under a root, refusing paths that would leave it. */
export function artifactPath(root: string, relPath: string): string {
  const target = path.resolve(root, ...relPath.split('/'));
  if (!target.startsWith(path.resolve(root) + path.sep)) throw new Error(`artifact path '${relPath}' leaves the artifact root`);
  return target;
}
