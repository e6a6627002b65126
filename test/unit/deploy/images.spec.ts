import * as fs from 'node:fs';
import * as path from 'node:path';
import { argsOf, pairsOf, parseDockerfile, Stage } from './dockerfile';

/**
 * The images' contract with the chart and with each other: pinned bases, non-root 10001, the port and paths the
 * chart mounts, OCI labels, a HEALTHCHECK, and the versions that must move together (Node 24 in the image, in
 * `engines` and in the Node 24 test run; MLflow in the server image and in the trainer's pins).
 */
const ROOT = path.resolve(__dirname, '..', '..', '..');
const read = (p: string) => fs.readFileSync(path.join(ROOT, p), 'utf8');
const final = (stages: Stage[]) => stages[stages.length - 1];
const DOCKERFILES = ['docker/Dockerfile', 'docker/trainer.Dockerfile', 'docker/mlflow.Dockerfile'];
const OCI_LABELS = ['title', 'description', 'licenses', 'version', 'revision', 'created', 'base.name'].map((k) => `org.opencontainers.image.${k}`);

/** The version a requirements file pins for a package (`name==x.y.z`). */
function pin(file: string, pkg: string): string {
  const m = new RegExp(`^${pkg}==(\\S+)`, 'mi').exec(read(file));
  if (!m) throw new Error(`${file} pins no ${pkg}`);
  return m[1];
}

describe('docker/ images', () => {
  it('are exactly the three the release workflow builds', () => {
    const found = fs
      .readdirSync(path.join(ROOT, 'docker'))
      .filter((f) => f === 'Dockerfile' || f.endsWith('.Dockerfile'))
      .map((f) => `docker/${f}`)
      .sort();
    expect(found).toEqual([...DOCKERFILES].sort());
  });

  describe.each(DOCKERFILES)('%s', (file) => {
    const stages = parseDockerfile(path.join(ROOT, file));
    const names = new Set(stages.map((s) => s.name).filter(Boolean));

    it('pins every external base image to an exact version tag and a digest', () => {
      const external = stages.map((s) => s.from).filter((from) => !names.has(from));
      expect(external.length).toBeGreaterThan(0);
      for (const from of external) expect(from).toMatch(/^[\w./-]+:\d+\.\d+\.\d+[\w.-]*@sha256:[0-9a-f]{64}$/);
    });

    it('runs as the non-root user 10001:10001 and carries the OCI labels and a HEALTHCHECK', () => {
      const last = final(stages);
      expect(argsOf(last, 'USER')).toEqual(['10001:10001']);
      const labels = pairsOf(last, 'LABEL');
      for (const key of OCI_LABELS) expect(labels[key]).toBeTruthy();
      expect(argsOf(last, 'HEALTHCHECK')).toHaveLength(1);
    });

    it('names its base image in org.opencontainers.image.base.name', () => {
      const base = stages[0].from.split('@')[0];
      expect(pairsOf(final(stages), 'LABEL')['org.opencontainers.image.base.name']).toBe(`docker.io/library/${base}`);
    });

    it('keeps HOME and TMPDIR on /tmp, the one writable scratch mount of a read-only root', () => {
      const env = pairsOf(final(stages), 'ENV');
      expect(env.HOME).toBe('/tmp');
      expect(env.TMPDIR).toBe('/tmp');
    });
  });

  describe('control plane (docker/Dockerfile)', () => {
    const stages = parseDockerfile(path.join(ROOT, 'docker/Dockerfile'));
    const runtime = final(stages);
    const env = pairsOf(runtime, 'ENV');

    it('serves on 3000 and keeps its state under DATA_DIR=/var/lib/churn, owned by 10001', () => {
      expect(env.PORT).toBe('3000');
      expect(env.DATA_DIR).toBe('/var/lib/churn');
      expect(env.NODE_ENV).toBe('production');
      expect(argsOf(runtime, 'EXPOSE')).toEqual(['3000']);
      expect(argsOf(runtime, 'RUN').join(' ')).toMatch(/chown 10001:10001 \/var\/lib\/churn/);
      expect(argsOf(runtime, 'HEALTHCHECK')[0]).toContain('/health/live');
    });

    it('runs the compiled service with production dependencies only', () => {
      expect(argsOf(runtime, 'CMD')).toEqual(['["node", "dist/src/main.js"]']);
      const copies = argsOf(runtime, 'COPY').join('\n');
      expect(copies).toMatch(/--from=prod-deps .*\/app\/node_modules/);
      expect(copies).not.toMatch(/--from=build .*node_modules/);
      const prodDeps = stages.find((s) => s.name === 'prod-deps');
      expect(argsOf(prodDeps!, 'RUN').join(' ')).toMatch(/npm ci --omit=dev/);
    });

    it('ships the built operator console where CONSOLE_DIR points by default (web/dist under the app root)', () => {
      const build = stages.find((s) => s.name === 'build');
      expect(argsOf(build!, 'RUN').join(' ')).toMatch(/npm run --silent build:web/);
      expect(argsOf(runtime, 'COPY').join('\n')).toMatch(/--from=build .*\/app\/web\/dist \.\/web\/dist/);
      expect(read('src/config/config.schema.ts')).toMatch(/CONSOLE_DIR: z[\s\S]{0,200}default\('web\/dist'\)/);
      expect(read('.dockerignore').split('\n')).toContain('web/dist');
    });

    it('is on Node 24, the major that engines and the Node 24 test run name', () => {
      const major = /^node:(\d+)\./.exec(stages[0].from)?.[1];
      expect(major).toBe('24');
      const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
      expect(engines.split('||').map((r) => r.trim())).toEqual(['^20.11.0', `^${major}.0.0`]);
      expect(read('scripts/setup-node24.sh')).toMatch(new RegExp(`^NODE24_VERSION="${major}\\.\\d+\\.\\d+"`, 'm'));
    });

    it('writes nowhere but DATA_DIR and /tmp: the app resolves its state paths under DATA_DIR', () => {
      for (const dir of ['datasets', 'backups', 'mlflow']) expect(read('src/config/config.ts')).toContain(`path.join(dataDir, '${dir}'`);
      expect(read('src/modules/serving/model-artifacts.ts')).toContain("path.join(this.config.DATA_DIR, 'model-cache'");
      expect(read('src/modules/prediction-log/prediction-log.service.ts')).toContain("path.join(config.DATA_DIR, 'prediction-spill')");
      expect(read('src/modules/backup/backup.service.ts')).toContain("path.join(this.config.DATA_DIR, 'backup-work'");
    });
  });

  describe('trainer (docker/trainer.Dockerfile)', () => {
    const stages = parseDockerfile(path.join(ROOT, 'docker/trainer.Dockerfile'));

    it('runs the trainer module that exists in trainer/', () => {
      expect(argsOf(final(stages), 'ENTRYPOINT')).toEqual(['["python", "-u", "-m", "trainer.train"]']);
      expect(fs.existsSync(path.join(ROOT, 'trainer', 'train.py'))).toBe(true);
    });

    it('installs the tested pins without the test-only packages', () => {
      const deps = argsOf(
        stages.find((s) => s.name === 'deps')!,
        'RUN',
      ).join(' ');
      expect(deps).toContain('-c /build/requirements.lock.txt');
      expect(deps).toMatch(/sed -E '\/\^\(pytest\|/);
      expect(read('trainer/requirements.txt')).toMatch(/^pytest==/m);
    });
  });

  describe('MLflow server (docker/mlflow.Dockerfile)', () => {
    const stages = parseDockerfile(path.join(ROOT, 'docker/mlflow.Dockerfile'));
    const install = argsOf(
      stages.find((s) => s.name === 'deps')!,
      'RUN',
    ).join(' ');

    it('pins the MLflow, SQLAlchemy and boto3 versions the trainer is tested with', () => {
      expect(install).toContain(`mlflow==${pin('trainer/requirements.txt', 'mlflow')}`);
      expect(install).toContain(`sqlalchemy==${pin('trainer/requirements.txt', 'sqlalchemy')}`);
      expect(install).toContain(`boto3==${pin('trainer/requirements-dev.txt', 'boto3')}`);
      expect(install).toContain('-c /build/requirements.lock.txt');
      expect(install).toMatch(/psycopg2-binary==\d/);
    });

    it('serves artifacts itself on port 5000', () => {
      const last = final(stages);
      expect(argsOf(last, 'ENTRYPOINT')).toEqual(['["mlflow", "server"]']);
      expect(argsOf(last, 'CMD')[0]).toContain('"--serve-artifacts"');
      expect(argsOf(last, 'CMD')[0]).toContain('"5000"');
      expect(argsOf(last, 'EXPOSE')).toEqual(['5000']);
    });
  });
});
