import { DriftFeatureView, DriftReportView } from './dto/drift.dto';

/**
 * A drift report as one self-contained HTML page: inline CSS and inline SVG bar charts (reference vs
 * current share per bin, for the score and every feature), no scripts and nothing fetched, so it
 * opens from a file or an e-mail attachment and passes a `default-src 'none'` CSP.
 */
export function renderDriftReportHtml(r: DriftReportView): string {
  const blocks = [r.score, ...r.features];
  const th = r.thresholds as Record<string, number>;
  const title = `Drift report ${r.id}: ${r.model_name} v${r.version}, ${r.window}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px auto; max-width: 1100px; color: #1f2933; padding: 0 16px; }
  h1 { font-size: 22px; margin-bottom: 4px; }
  h2 { font-size: 18px; margin: 0 0 6px; }
  .meta { color: #52606d; font-size: 13px; margin-bottom: 16px; }
  table { border-collapse: collapse; font-size: 13px; }
  th, td { border-bottom: 1px solid #e4e7eb; padding: 4px 10px; text-align: left; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  .badge { display: inline-block; padding: 2px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; }
  .stable { background: #2f8132; } .monitor { background: #c98a00; } .retrain { background: #c62828; } .insufficient_data { background: #7b8794; }
  section.feature { border: 1px solid #e4e7eb; border-radius: 6px; padding: 14px 16px; margin: 16px 0; }
  .legend span { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; vertical-align: middle; }
  .stats { font-size: 13px; color: #323f4b; margin-bottom: 8px; }
</style>
</head>
<body>
<h1>${esc(title)}</h1>
<div class="meta">Status <span class="badge ${esc(r.status)}" id="report-status">${esc(r.status)}</span>${r.severe ? ' <strong>severe drift</strong>' : ''}
 · window ${esc(r.window_start)} → ${esc(r.window_end)} · ${r.n_current.toLocaleString('en-US')} logged predictions vs ${r.n_reference.toLocaleString('en-US')} training rows
 · created ${esc(r.created_at)} (${esc(r.trigger)}) · PSI thresholds: monitor ≥ ${th.monitor}, retrain ≥ ${th.retrain}; min samples ${th.min_samples}</div>
${r.retrain ? `<p class="stats">Retrain requested: ${r.retrain.started ? `started (training run ${esc(r.retrain.run_id ?? '')})` : 'not started'} — ${esc(r.retrain.reason)}</p>` : ''}
<h2>Summary</h2>
<table id="summary">
<thead><tr><th>Feature</th><th>Kind</th><th class="num">PSI</th><th>Test</th><th class="num">Statistic</th><th class="num">p-value</th><th>Verdict</th></tr></thead>
<tbody>
${blocks.map(summaryRow).join('\n')}
</tbody>
</table>
<p class="legend">Bars: <span style="background:#4c78a8"></span>reference (training) share <span style="background:#f58518"></span>current share</p>
${blocks.map(section).join('\n')}
<p class="meta">PSI = Σ (cur − ref)·ln(cur/ref) over the reference bins plus under/overflow (numeric) or an unseen bucket (categorical), shares clipped at 1e-4.
KS: max |F_ref − F_cur| on the reference's quantile grid, asymptotic p-value; chi²: 2×k homogeneity test on reference vs current counts.</p>
</body>
</html>
`;
}

function fmt(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined) return '—';
  if (v !== 0 && Math.abs(v) < 1e-4) return v.toExponential(2);
  return v.toFixed(digits);
}

function testCells(f: DriftFeatureView): string {
  if (!f.test) return '<td>—</td><td class="num">—</td><td class="num">—</td>';
  const name = f.test.name === 'ks' ? 'KS' : `chi² (dof ${f.test.dof})`;
  return `<td>${esc(name)}</td><td class="num">${fmt(f.test.statistic)}</td><td class="num">${fmt(f.test.p_value)}</td>`;
}

function summaryRow(f: DriftFeatureView): string {
  return `<tr><td><a href="#f-${esc(f.feature)}">${esc(f.feature)}</a></td><td>${esc(f.kind)}</td><td class="num">${fmt(f.psi)}</td>${testCells(f)}<td><span class="badge ${esc(f.verdict)}">${esc(f.verdict)}</span></td></tr>`;
}

function section(f: DriftFeatureView): string {
  const rows = f.bins.labels
    .map(
      (label, i) =>
        `<tr><td>${esc(label)}</td><td class="num">${fmt(f.bins.reference_shares[i])}</td><td class="num">${fmt(f.bins.current_shares[i])}</td><td class="num">${f.bins.current_counts[i]}</td></tr>`,
    )
    .join('');
  return `<section class="feature" id="f-${esc(f.feature)}" data-feature="${esc(f.feature)}">
<h2>${esc(f.feature)} <span class="badge ${esc(f.verdict)}">${esc(f.verdict)}</span></h2>
<div class="stats">PSI ${fmt(f.psi)}${f.test ? ` · ${f.test.name === 'ks' ? 'KS D' : 'chi²'} ${fmt(f.test.statistic)}, p = ${fmt(f.test.p_value)}` : ''}</div>
${barChart(f)}
<details><summary>Bins</summary><table><thead><tr><th>Bin</th><th class="num">Reference share</th><th class="num">Current share</th><th class="num">Current count</th></tr></thead><tbody>${rows}</tbody></table></details>
</section>`;
}

/** Grouped bars (reference, current) per bin, with a y axis in shares. */
function barChart(f: DriftFeatureView): string {
  const labels = f.bins.labels;
  const ref = f.bins.reference_shares;
  const cur = f.bins.current_shares;
  const width = 1000;
  const height = 260;
  const left = 48;
  const bottom = 70;
  const top = 12;
  const plotW = width - left - 10;
  const plotH = height - top - bottom;
  const max = Math.max(0.01, ...ref, ...cur);
  const yMax = Math.ceil(max * 10) / 10;
  const slot = plotW / labels.length;
  const bar = Math.max(2, Math.min(40, slot * 0.38));
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const ticks = [0, yMax / 2, yMax]
    .map(
      (t) =>
        `<line x1="${left}" x2="${width - 10}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e4e7eb"/><text x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#52606d">${t.toFixed(2)}</text>`,
    )
    .join('');
  const bars = labels
    .map((label, i) => {
      const x0 = left + i * slot + slot / 2;
      const r = `<rect class="ref" x="${(x0 - bar - 1).toFixed(1)}" y="${y(ref[i]).toFixed(1)}" width="${bar.toFixed(1)}" height="${(top + plotH - y(ref[i])).toFixed(1)}" fill="#4c78a8"><title>${esc(label)}: reference ${fmt(ref[i])}</title></rect>`;
      const c = `<rect class="cur" x="${(x0 + 1).toFixed(1)}" y="${y(cur[i]).toFixed(1)}" width="${bar.toFixed(1)}" height="${(top + plotH - y(cur[i])).toFixed(1)}" fill="#f58518"><title>${esc(label)}: current ${fmt(cur[i])}</title></rect>`;
      const t = `<text x="${x0.toFixed(1)}" y="${top + plotH + 14}" font-size="10" fill="#323f4b" text-anchor="end" transform="rotate(-30 ${x0.toFixed(1)} ${top + plotH + 14})">${esc(label)}</text>`;
      return r + c + t;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${esc(f.feature)}: reference vs current distribution">${ticks}${bars}<line x1="${left}" x2="${width - 10}" y1="${top + plotH}" y2="${top + plotH}" stroke="#7b8794"/></svg>`;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
