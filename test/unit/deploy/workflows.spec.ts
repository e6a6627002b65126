import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';

/**
 * The GitHub workflows for forks: they run what .ci/run runs (so the two cannot drift apart), they cover the
 * chart, Terraform and image checks, they pin every action by commit, and the release builds every image.
 */
const ROOT = path.resolve(__dirname, '..', '..', '..');
const read = (p: string) => fs.readFileSync(path.join(ROOT, p), 'utf8');

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  steps: Step[];
  strategy?: { matrix?: { include?: Record<string, string>[] } };
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
}

const load = (file: string) => yaml.load(read(`.github/workflows/${file}`)) as Workflow;
const steps = (wf: Workflow) => Object.values(wf.jobs).flatMap((j) => j.steps);
const runs = (wf: Workflow) => steps(wf).flatMap((s) => (s.run ? s.run.split('\n').map((l) => l.trim()) : []));

/** Scripts the workflows call that other parts of the deployment work add (the chart's and Terraform's checks). */
describe('.github/workflows', () => {
  const files = fs.readdirSync(path.join(ROOT, '.github/workflows')).sort();
  const ci = load('ci.yml');
  const release = load('release.yml');

  it('holds ci.yml and release.yml', () => {
    expect(files).toEqual(['ci.yml', 'release.yml']);
  });

  it('runs every command of .ci/run, so CI on GitHub and here cannot drift apart', () => {
    const ciRun = read('.ci/run')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#') && !l.startsWith('set ') && !l.startsWith('cd '));
    expect(ciRun).toEqual(['npm test']);
    expect(runs(ci)).toEqual(expect.arrayContaining(ciRun));
    expect(read('scripts/test.sh')).toContain('bash scripts/test-node24.sh');
  });

  it('lints, type-checks and runs the chart, Terraform and image checks as their own jobs', () => {
    const scripts = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    for (const cmd of ['npm run lint', 'npm run typecheck']) {
      expect(runs(ci)).toContain(cmd);
      expect(scripts.scripts[cmd.replace('npm run ', '')]).toBeTruthy();
    }
    for (const script of ['scripts/check-chart.sh', 'scripts/check-terraform.sh', 'scripts/check-images-and-workflows.sh']) {
      expect(runs(ci)).toContain(`bash ${script}`);
    }
  });

  it('calls only scripts that exist (or that the chart and Terraform work adds)', () => {
    for (const wf of [ci, release]) {
      for (const line of runs(wf)) {
        for (const m of line.matchAll(/\bbash (scripts\/[\w.-]+\.sh)/g)) {
          expect(fs.existsSync(path.join(ROOT, m[1]))).toBe(true);
        }
      }
    }
  });

  it('pins every action by full commit SHA, with the version it is in a comment', () => {
    for (const file of files) {
      const uses = read(`.github/workflows/${file}`)
        .split('\n')
        .filter((l) => /^\s*(-\s+)?uses:/.test(l));
      expect(uses.length).toBeGreaterThan(0);
      for (const line of uses) expect(line).toMatch(/uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    }
  });

  it('gives the workflow token read-only contents by default', () => {
    expect(ci.permissions).toEqual({ contents: 'read' });
    expect(release.permissions).toEqual({ contents: 'read' });
  });

  it('releases on version tags: every image in docker/ for amd64 and arm64, then the chart to an OCI registry', () => {
    expect(release.on).toEqual({ push: { tags: ['v*.*.*'] } });
    const images = release.jobs.images;
    const built = (images.strategy?.matrix?.include ?? []).map((i) => i.dockerfile).sort();
    const present = fs
      .readdirSync(path.join(ROOT, 'docker'))
      .filter((f) => f === 'Dockerfile' || f.endsWith('.Dockerfile'))
      .map((f) => `docker/${f}`)
      .sort();
    expect(built).toEqual(present);
    const build = images.steps.find((s) => s.uses?.startsWith('docker/build-push-action@'));
    expect(build?.with).toMatchObject({ platforms: 'linux/amd64,linux/arm64', push: true });
    const chart = runs(release).join('\n');
    expect(chart).toMatch(/helm" package helm\/churn-control-plane/);
    expect(chart).toMatch(/helm" push .* "oci:\/\/ghcr\.io\//);
    expect(read('.github/workflows/release.yml')).toContain(`helm.sh/helm/v4/cmd/helm@${helmVersion()}`);
  });
});

/** The helm version the chart checks pin (scripts/setup-helm-tools.sh), or the release workflow's own pin. */
function helmVersion(): string {
  const setup = path.join(ROOT, 'scripts/setup-helm-tools.sh');
  const source = fs.existsSync(setup) ? fs.readFileSync(setup, 'utf8') : read('.github/workflows/release.yml');
  const m = /HELM_VERSION="(v\d+\.\d+\.\d+)"|helm\/v4\/cmd\/helm@(v\d+\.\d+\.\d+)/.exec(source);
  if (!m) throw new Error('no pinned helm version found');
  return m[1] ?? m[2];
}
