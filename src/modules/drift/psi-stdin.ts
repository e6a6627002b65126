/**
 * Test entry (tests/python/test_psi_agreement.py): reads {"eps", "blocks": [{"reference_shares",
 * "current_counts"}]} as JSON on stdin and prints {"psi": [...]} computed by the drift module's own
 * psi(), so that Python can check it against numpy and Evidently. Run from dist/ after compiling:
 *   node dist/src/modules/drift/psi-stdin.js < counts.json
 */
import { psi } from './drift-stats';

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', () => {
  const req = JSON.parse(input) as { eps: number; blocks: { reference_shares: number[]; current_counts: number[] }[] };
  const out = { psi: req.blocks.map((b) => psi(b.reference_shares, b.current_counts, req.eps)) };
  process.stdout.write(`${JSON.stringify(out)}\n`);
});
