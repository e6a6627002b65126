import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import type { z } from 'zod';
import { configSchema } from '../../src/config/config.schema';
import { argsOf, pairsOf, parseDockerfile } from './deploy/dockerfile';

/**
 * The chart against the things it must agree with: the image it runs (docker/Dockerfile: user, port, DATA_DIR),
 * the app's configuration schema (every `config` key the chart accepts is a real setting, and the shutdown values
 * it sets are the app's own), and the health routes. Renders with the helm of scripts/setup-helm-tools.sh.
 */
const ROOT = path.resolve(__dirname, '../..');
const CHART = path.join(ROOT, 'helm/churn-control-plane');
const HELM = path.join(ROOT, '.tools/bin/helm');

type Manifest = { kind: string; metadata: { name: string }; spec: Record<string, unknown> };
type Container = {
  image: string;
  ports: { containerPort: number }[];
  env: { name: string; value?: string }[];
  volumeMounts: { name: string; mountPath: string }[];
  securityContext: { runAsUser: number };
  livenessProbe: { httpGet: { path: string } };
  readinessProbe: { httpGet: { path: string } };
};
type PodSpec = { securityContext: { runAsUser: number; fsGroup: number }; containers: Container[] };

function render(valuesFile: string): Manifest[] {
  if (!fs.existsSync(HELM)) throw new Error(`${HELM} is missing: run bash scripts/setup-helm-tools.sh first`);
  const out = execFileSync(HELM, ['template', 'churn', CHART, '--namespace', 'churn', '-f', path.join(CHART, 'examples', valuesFile)], {
    encoding: 'utf8',
  });
  return yaml.loadAll(out).filter((d): d is Manifest => d !== null && typeof d === 'object');
}

function dockerfile(): { user: string; port: number; env: Record<string, string> } {
  const runtime = parseDockerfile(path.join(ROOT, 'docker/Dockerfile')).at(-1)!;
  return { user: argsOf(runtime, 'USER')[0] ?? '', port: Number(argsOf(runtime, 'EXPOSE')[0]), env: pairsOf(runtime, 'ENV') };
}

describe('helm/churn-control-plane', () => {
  const manifests = render('production.yaml');
  const deployment = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'churn-churn-control-plane');
  const pod = (deployment?.spec.template as { spec: PodSpec }).spec;
  const api = pod.containers[0];
  const env = (name: string): string | undefined => api.env.find((e) => e.name === name)?.value;

  it('runs the image as its own user, on its own port, with DATA_DIR writable', () => {
    const image = dockerfile();
    expect(image.user).toBe(`${pod.securityContext.runAsUser}:${pod.securityContext.fsGroup}`);
    expect(api.securityContext.runAsUser).toBe(pod.securityContext.runAsUser);
    expect(api.ports[0].containerPort).toBe(image.port);
    expect(env('PORT')).toBe(String(image.port));
    expect(env('DATA_DIR')).toBe(image.env.DATA_DIR);
    expect(api.volumeMounts).toContainEqual({ name: 'data', mountPath: image.env.DATA_DIR });
  });

  it('probes the health routes the app serves', () => {
    const controller = fs.readFileSync(path.join(ROOT, 'src/modules/health/health.controller.ts'), 'utf8');
    expect(controller).toMatch(/@Controller\('health'\)/);
    for (const probe of [api.livenessProbe, api.readinessProbe]) {
      const route = probe.httpGet.path.replace(/^\/health\//, '');
      expect(controller).toContain(`@Get('${route}')`);
    }
  });

  it('sets only settings the app knows, and never a secret as a plain value', () => {
    const shape = (configSchema as unknown as z.ZodEffects<z.ZodObject<z.ZodRawShape>>).innerType().shape;
    const schema = JSON.parse(fs.readFileSync(path.join(CHART, 'values.schema.json'), 'utf8')) as {
      properties: { config: { properties: Record<string, unknown>; additionalProperties: boolean } };
    };
    const accepted = Object.keys(schema.properties.config.properties);
    expect(schema.properties.config.additionalProperties).toBe(false);
    expect(accepted.filter((k) => !(k in shape))).toEqual([]);
    expect(api.env.map((e) => e.name).filter((k) => !(k in shape))).toEqual([]);
    const secrets = ['DATABASE_URL', 'BOOTSTRAP_ADMIN_API_KEY', 'PII_HASH_KEY', 'AUDIT_HMAC_KEY', 'WEBHOOK_SECRET'];
    expect(accepted.filter((k) => secrets.includes(k))).toEqual([]);
    expect(api.env.filter((e) => secrets.includes(e.name))).toEqual([]);
  });

  it('ships the Alertmanager routes of monitoring/alertmanager/ as an AlertmanagerConfig, secrets by reference', () => {
    type SourceRoute = { receiver?: string; matchers?: string[]; routes?: SourceRoute[] };
    type Route = { receiver?: string; matchers?: { name: string; matchType: string; value: string }[]; routes?: Route[] };
    const source = yaml.load(fs.readFileSync(path.join(ROOT, 'monitoring/alertmanager/alertmanager.yml'), 'utf8')) as {
      route: SourceRoute;
      receivers: { name: string }[];
      inhibit_rules: { equal: string[] }[];
    };
    const config = manifests.find((m) => m.kind === 'AlertmanagerConfig');
    expect(config).toBeDefined();
    const spec = config!.spec as { route: Route; receivers: { name: string }[]; inhibitRules: { equal: string[] }[] };
    const tree = (r: SourceRoute | Route): unknown => ({
      receiver: r.receiver,
      matchers: (r.matchers ?? []).map((m) => (typeof m === 'string' ? m : `${m.name}${m.matchType}"${m.value}"`)),
      routes: (r.routes ?? []).map(tree),
    });
    expect(tree(spec.route)).toEqual(tree(source.route));
    expect(spec.receivers.map((r) => r.name)).toEqual(source.receivers.map((r) => r.name));
    expect(spec.inhibitRules.map((r) => r.equal)).toEqual(source.inhibit_rules.map((r) => r.equal));
    const files = [
      ...fs.readFileSync(path.join(ROOT, 'monitoring/alertmanager/alertmanager.yml'), 'utf8').matchAll(/_file: \/etc\/alertmanager\/secrets\/([\w-]+)/g),
    ];
    const referenced = [...JSON.stringify(spec).matchAll(/\{"key":"([\w-]+)","name":"alertmanager-churn"\}/g)];
    expect(new Set(referenced.map((m) => m[1]))).toEqual(new Set(files.map((m) => m[1])));
  });

  it('lints with ct on the examples themselves (ci/*-values.yaml are links to them)', () => {
    const ci = fs.readdirSync(path.join(CHART, 'ci')).sort();
    const examples = fs.readdirSync(path.join(CHART, 'examples')).sort();
    expect(ci).toEqual(examples.map((f) => f.replace(/\.yaml$/, '-values.yaml')));
    for (const f of ci) expect(fs.readlinkSync(path.join(CHART, 'ci', f))).toBe(`../examples/${f.replace(/-values\.yaml$/, '.yaml')}`);
  });
});
