import * as fs from 'node:fs';
import * as path from 'node:path';
import { startCompiledApp } from '../support/compiled-app';
import { startFakeKubernetes } from '../support/fake-kubernetes';
import { run } from '../support/processes';
import { ADMIN_KEY, eventually, freshDatabase, http } from '../support/test-app';
import { testEnv } from '../support/test-env';

const ROOT = path.resolve(__dirname, '..', '..');

describe('training on Kubernetes (Job through a fake API server at the HTTP level)', () => {
  it('creates a valid batch/v1 Job, follows it to completion, reads the pod log and stages the version', async () => {
    const env = testEnv();
    const version = env.trained[1];
    const podLog = () =>
      [
        'INFO trainer: starting',
        ...['load_data', 'validate', 'features', 'train', 'evaluate', 'export', 'register'].map((phase) =>
          JSON.stringify({ event: 'phase', phase, at: new Date().toISOString() }),
        ),
        JSON.stringify({
          event: 'result',
          status: 'succeeded',
          run_id: version.run_id,
          model_name: env.modelName,
          version: version.version,
          model_sha256: version.model_sha256,
          artifact_uri: version.artifact_uri,
          output_dir: '/tmp/out',
          model_family: 'hist_gradient_boosting',
          metrics: { pr_auc: 0.66, roc_auc: 0.85, precision_at_50: 0.9, onnx_parity_max_abs_diff: 2e-7 },
          gates: [],
          gates_passed: true,
          champion: null,
          validation: { passed: true, checks: [] },
          duration_seconds: 12.5,
        }),
      ].join('\n') + '\n';
    const fake = await startFakeKubernetes({ token: 'test-token', podLog, pollsUntilDone: 2, outcome: 'Complete' });
    const kubeconfig = path.join(env.tmpDir, 'kubeconfig.yaml');
    fs.writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: ${fake.url}\n    insecure-skip-tls-verify: true\nusers:\n- name: ci\n  user:\n    token: test-token\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: ci\ncurrent-context: fake\n`,
    );
    const app = await startCompiledApp({
      DATABASE_URL: await freshDatabase('k8s'),
      DATA_DIR: path.join(env.tmpDir, 'k8s-app'),
      TRAINING_EXECUTOR: 'kubernetes',
      KUBECONFIG: kubeconfig,
      K8S_NAMESPACE: 'churn-ci',
      K8S_TRAINER_IMAGE: 'registry.example/churn-trainer:1.2.3',
    });
    try {
      const created = await http('POST', `${app.url}/api/v1/training/runs`, { key: ADMIN_KEY, body: { n_customers: 20000, seed: 9 } });
      expect(created.status).toBe(201);
      expect(created.body.executor).toBe('kubernetes');

      const done = await eventually(
        async () => {
          const r = await http('GET', `${app.url}/api/v1/training/runs/${created.body.id}`, { key: ADMIN_KEY });
          return ['succeeded', 'failed'].includes(r.body.state) ? r.body : undefined;
        },
        60_000,
        'the Kubernetes run to finish',
      );
      expect(done.failure_reason).toBeNull();
      expect(done.state).toBe('succeeded');
      expect(done.staged).toBe(true);
      expect(done.model_version).toBe(version.version);
      expect(done.phase).toBe('register');

      const [job] = [...fake.jobs.values()];
      expect(job.metadata.namespace).toBe('churn-ci');
      const container = job.spec.template.spec.containers[0];
      expect(container.image).toBe('registry.example/churn-trainer:1.2.3');
      expect(container.args).toEqual(
        expect.arrayContaining(['--n-customers', '20000', '--seed', '9', '--run-tag', `control_plane.training_run_id=${created.body.id}`]),
      );
      expect(job.spec.backoffLimit).toBe(0);
      const manifest = path.join(env.tmpDir, 'job.json');
      fs.writeFileSync(
        manifest,
        JSON.stringify({
          apiVersion: job.apiVersion,
          kind: job.kind,
          metadata: { name: job.metadata.name, namespace: job.metadata.namespace, labels: job.metadata.labels },
          spec: job.spec,
        }),
      );
      const validated = await run('bash', [path.join(ROOT, 'scripts/kubeconform.sh'), manifest], { cwd: ROOT });
      expect(validated).toMatch(/Valid: 1, Invalid: 0, Errors: 0/);

      const logs = await http('GET', `${app.url}/api/v1/training/runs/${created.body.id}/logs`, { key: ADMIN_KEY });
      expect(logs.body.lines.map((l: { line: string }) => l.line)).toContain('INFO trainer: starting');
      expect(logs.body.complete).toBe(true);

      const versions = await http('GET', `${app.url}/api/v1/models/${env.modelName}/versions`, { key: ADMIN_KEY });
      expect(versions.body.versions.find((v: { version: string }) => v.version === version.version).stage).toBe('Staging');
    } finally {
      await app.stop();
      await fake.close();
    }
  });
});
