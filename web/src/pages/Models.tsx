import { useCallback, useEffect, useMemo, useState } from 'react';
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { api, may, Session } from '../api';
import { ErrorPanel } from '../ErrorPanel';
import { Pager, pageOf } from '../Pager';

interface ModelSummary {
  name: string;
  description: string | null;
  production_version: string | null;
  staging_versions: string[];
  latest_version: string | null;
  last_updated: string | null;
}
interface ModelVersion {
  name: string;
  version: string;
  stage: string;
  stage_changed_at: string | null;
  mlflow: { tags: Record<string, string>; run_id?: string } | null;
}
interface VersionRun {
  version: string;
  metrics: Record<string, number>;
  params: Record<string, string>;
}

const PAGE_SIZE = 20;
const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;

type Load<T> = { kind: 'loading' } | { kind: 'failed'; error: unknown } | { kind: 'ok'; value: T };

function useLoad<T>(fetcher: () => Promise<T>, deps: readonly unknown[]): [Load<T>, () => void] {
  const [state, setState] = useState<Load<T>>({ kind: 'loading' });
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    let live = true;
    setState({ kind: 'loading' });
    fetcher().then(
      (value) => live && setState({ kind: 'ok', value }),
      (error: unknown) => live && setState({ kind: 'failed', error }),
    );
    return () => {
      live = false;
    };
  }, [...deps, nonce]);
  return [state, useCallback(() => setNonce((n) => n + 1), [])];
}

/** Registered models, and a model's versions with their stage, metrics, params and tags side by side. */
export function Models({ session }: { session: Session }) {
  const [models, reloadModels] = useLoad(() => api<{ models: ModelSummary[] }>('GET', '/api/v1/models'), []);
  const [selected, setSelected] = useState<string | null>(null);
  const [page, setPage] = useState(0);

  const list = models.kind === 'ok' ? models.value.models : [];
  const current = selected ?? list[0]?.name ?? null;

  return (
    <>
      <h1>Models and versions</h1>
      <section className="card" aria-labelledby="models-heading">
        <h2 id="models-heading">Registered models</h2>
        {models.kind === 'loading' && <p aria-busy="true">Loading models…</p>}
        {models.kind === 'failed' && <ErrorPanel error={models.error} onRetry={reloadModels} />}
        {models.kind === 'ok' && list.length === 0 && <p>No model is registered yet. Train one: `npm run cli -- train`.</p>}
        {models.kind === 'ok' && list.length > 0 && (
          <>
            <table>
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Production</th>
                  <th scope="col">Staging</th>
                  <th scope="col">Latest</th>
                  <th scope="col">Last updated</th>
                </tr>
              </thead>
              <tbody>
                {pageOf(list, page, PAGE_SIZE).map((m) => (
                  <tr key={m.name} className={m.name === current ? 'selected' : undefined}>
                    <td>
                      <button type="button" className="link" aria-pressed={m.name === current} onClick={() => setSelected(m.name)}>
                        {m.name}
                      </button>
                    </td>
                    <td>{m.production_version ?? '—'}</td>
                    <td>{m.staging_versions.join(', ') || '—'}</td>
                    <td>{m.latest_version ?? '—'}</td>
                    <td>{m.last_updated ? new Date(m.last_updated).toLocaleString() : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Pager page={page} pageCount={Math.ceil(list.length / PAGE_SIZE)} onPage={setPage} label="Models" />
          </>
        )}
      </section>
      {current && <Versions key={current} model={current} session={session} />}
    </>
  );
}

function Versions({ model, session }: { model: string; session: Session }) {
  const [versions, reload] = useLoad(() => api<{ versions: ModelVersion[] }>('GET', `/api/v1/models/${encodeURIComponent(model)}/versions`), [model]);
  const [page, setPage] = useState(0);
  const all = useMemo(() => (versions.kind === 'ok' ? versions.value.versions : []), [versions]);
  const shown = useMemo(() => pageOf(all, page, PAGE_SIZE), [all, page]);
  const [runs, setRuns] = useState<Record<string, VersionRun | 'failed'>>({});

  useEffect(() => {
    let live = true;
    for (const v of shown) {
      if (runs[v.version]) continue;
      api<VersionRun>('GET', `/api/v1/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(v.version)}/run`).then(
        (run) => live && setRuns((r) => ({ ...r, [v.version]: run })),
        () => live && setRuns((r) => ({ ...r, [v.version]: 'failed' })),
      );
    }
    return () => {
      live = false;
    };
  }, [shown, model]);

  if (versions.kind === 'loading') return <p aria-busy="true">Loading versions of {model}…</p>;
  if (versions.kind === 'failed') return <ErrorPanel error={versions.error} onRetry={reload} />;

  const loadedRuns = shown.map((v) => runs[v.version]).filter((r): r is VersionRun => typeof r === 'object');
  const metricNames = [...new Set(loadedRuns.flatMap((r) => Object.keys(r.metrics)))].sort();
  const paramNames = [...new Set(loadedRuns.flatMap((r) => Object.keys(r.params)))].sort();
  const canOverride = may(session.role, []);

  return (
    <>
      <section className="card" aria-labelledby="versions-heading">
        <h2 id="versions-heading">Versions of {model}</h2>
        <div className="scroll" tabIndex={0} role="region" aria-label={`Versions of ${model}, scrollable`}>
          <table className="versions">
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Stage</th>
                <th scope="col">Metrics</th>
                <th scope="col">Params</th>
                <th scope="col">Tags</th>
                <th scope="col">Stage override</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((v) => {
                const run = runs[v.version];
                return (
                  <tr key={v.version}>
                    <th scope="row">{v.version}</th>
                    <td>
                      <span className={`stage stage-${v.stage.toLowerCase()}`}>{v.stage}</span>
                    </td>
                    <td>{run === 'failed' ? 'unavailable' : run ? <KeyValues values={run.metrics} digits /> : '…'}</td>
                    <td>{run === 'failed' ? 'unavailable' : run ? <KeyValues values={run.params} /> : '…'}</td>
                    <td>
                      <KeyValues values={v.mlflow?.tags ?? {}} />
                    </td>
                    <td>
                      <StageOverride model={model} version={v} enabled={canOverride} onChanged={reload} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        <Pager page={page} pageCount={Math.ceil(all.length / PAGE_SIZE)} onPage={setPage} label="Versions" />
      </section>
      <MetricChart versions={shown} runs={loadedRuns} metricNames={metricNames} />
      <VersionDiff versions={shown} runs={runs} metricNames={metricNames} paramNames={paramNames} />
    </>
  );
}

function KeyValues({ values, digits }: { values: Record<string, string | number>; digits?: boolean }) {
  const entries = Object.entries(values).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return <span className="muted">none</span>;
  return (
    <dl className="kv">
      {entries.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{digits && typeof v === 'number' ? v.toFixed(4) : String(v)}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Admin-only direct stage change (bypasses gates; audited). Shown disabled to others, with the reason. */
function StageOverride({ model, version, enabled, onChanged }: { model: string; version: ModelVersion; enabled: boolean; onChanged: () => void }) {
  const [stage, setStage] = useState<string>(version.stage);
  const [error, setError] = useState<unknown>(null);
  const id = `override-${version.version}`;
  async function apply() {
    if (!window.confirm(`Set ${model} v${version.version} from ${version.stage} to ${stage}, bypassing gates and approvals?`)) return;
    try {
      await api('POST', `/api/v1/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version.version)}/stage`, {
        stage,
        comment: 'set from the console',
      });
      onChanged();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <div className="override">
      <label htmlFor={id} className="visually-hidden">
        New stage for version {version.version}
      </label>
      <select id={id} value={stage} disabled={!enabled} onChange={(e) => setStage(e.target.value)}>
        {STAGES.map((s) => (
          <option key={s}>{s}</option>
        ))}
      </select>
      <button
        type="button"
        disabled={!enabled || stage === version.stage}
        title={enabled ? 'Set the stage directly (admin)' : 'Only an admin may set a stage directly; use promotions instead'}
        onClick={() => void apply()}
      >
        Set stage
      </button>
      {error !== null && <ErrorPanel error={error} />}
    </div>
  );
}

function MetricChart({ versions, runs, metricNames }: { versions: ModelVersion[]; runs: VersionRun[]; metricNames: string[] }) {
  const [metric, setMetric] = useState<string | null>(null);
  const chosen = metric && metricNames.includes(metric) ? metric : (metricNames.find((m) => m === 'roc_auc') ?? metricNames[0]);
  const byVersion = new Map(runs.map((r) => [r.version, r]));
  const data = [...versions]
    .sort((a, b) => Number(a.version) - Number(b.version))
    .map((v) => ({ version: `v${v.version}`, value: chosen ? byVersion.get(v.version)?.metrics[chosen] : undefined }))
    .filter((d) => d.value !== undefined);
  return (
    <section className="card" aria-labelledby="chart-heading">
      <h2 id="chart-heading">Metric across versions</h2>
      {metricNames.length === 0 ? (
        <p className="muted">No metrics loaded for these versions yet.</p>
      ) : (
        <>
          <label htmlFor="metric">Metric</label>{' '}
          <select id="metric" value={chosen} onChange={(e) => setMetric(e.target.value)}>
            {metricNames.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
          <div className="chart" data-testid="metric-chart" role="img" aria-label={`${chosen} by version`}>
            <ResponsiveContainer width="100%" height={260}>
              <LineChart data={data} margin={{ top: 10, right: 20, bottom: 10, left: 10 }}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="version" />
                <YAxis domain={['auto', 'auto']} tickFormatter={(v: number) => v.toFixed(3)} />
                <Tooltip formatter={(v) => (typeof v === 'number' ? v.toFixed(4) : String(v))} />
                <Line type="monotone" dataKey="value" name={chosen} stroke="#1f5fa8" strokeWidth={2} isAnimationActive={false} />
              </LineChart>
            </ResponsiveContainer>
          </div>
        </>
      )}
    </section>
  );
}

function VersionDiff({
  versions,
  runs,
  metricNames,
  paramNames,
}: {
  versions: ModelVersion[];
  runs: Record<string, VersionRun | 'failed'>;
  metricNames: string[];
  paramNames: string[];
}) {
  const [a, setA] = useState<string>(versions[1]?.version ?? versions[0]?.version ?? '');
  const [b, setB] = useState<string>(versions[0]?.version ?? '');
  if (versions.length < 2) return null;
  const va = versions.find((v) => v.version === a);
  const vb = versions.find((v) => v.version === b);
  const ra = runs[a];
  const rb = runs[b];
  const tagNames = [...new Set([...Object.keys(va?.mlflow?.tags ?? {}), ...Object.keys(vb?.mlflow?.tags ?? {})])].sort();
  const rows: [string, string, string][] = [
    ['stage', va?.stage ?? '', vb?.stage ?? ''],
    ...metricNames.map((m): [string, string, string] => [
      `metric ${m}`,
      fmt(typeof ra === 'object' ? ra.metrics[m] : undefined),
      fmt(typeof rb === 'object' ? rb.metrics[m] : undefined),
    ]),
    ...paramNames.map((p): [string, string, string] => [
      `param ${p}`,
      (typeof ra === 'object' && ra.params[p]) || '—',
      (typeof rb === 'object' && rb.params[p]) || '—',
    ]),
    ...tagNames.map((t): [string, string, string] => [`tag ${t}`, va?.mlflow?.tags[t] ?? '—', vb?.mlflow?.tags[t] ?? '—']),
  ];
  return (
    <section className="card" aria-labelledby="diff-heading">
      <h2 id="diff-heading">Compare two versions</h2>
      <div className="diff-pick">
        <label htmlFor="diff-a">Version A</label>
        <select id="diff-a" value={a} onChange={(e) => setA(e.target.value)}>
          {versions.map((v) => (
            <option key={v.version}>{v.version}</option>
          ))}
        </select>
        <label htmlFor="diff-b">Version B</label>
        <select id="diff-b" value={b} onChange={(e) => setB(e.target.value)}>
          {versions.map((v) => (
            <option key={v.version}>{v.version}</option>
          ))}
        </select>
      </div>
      <table className="diff" data-testid="version-diff">
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">v{a}</th>
            <th scope="col">v{b}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([field, x, y]) => (
            <tr key={field} className={x !== y ? 'changed' : undefined}>
              <th scope="row">{field}</th>
              <td>{x}</td>
              <td>{y}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function fmt(v: number | undefined): string {
  return v === undefined ? '—' : v.toFixed(4);
}
