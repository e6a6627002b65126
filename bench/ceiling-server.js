#!/usr/bin/env node
'use strict';
// The "ceiling" peer of the benchmark: the least a Node server can do to answer /predict with the same
// model. Fastify + onnxruntime-node, the same model.onnx, the same session options and the same input
// tensors as src/modules/serving/onnx-model.ts (one [N,1] tensor per signature input, float32 or
// string), the same JSON bodies. It validates nothing (beyond "is there a row"), has no auth, no
// metrics, no logging, no risk policy: whatever the app costs above this is the price of its features.
//
// usage: node bench/ceiling-server.js --model <dir with model.onnx + signature.json> --port <port> [--host 127.0.0.1]

const fs = require('node:fs');
const path = require('node:path');
const ort = require('onnxruntime-node');
const Fastify = require('fastify');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (fallback === undefined) {
    console.error(`usage: node bench/ceiling-server.js --model <dir> --port <port> [--host 127.0.0.1] (missing --${name})`);
    process.exit(2);
  }
  return fallback;
}

async function main() {
  const dir = arg('model');
  const port = Number(arg('port'));
  const host = arg('host', '127.0.0.1');
  const signature = JSON.parse(fs.readFileSync(path.join(dir, 'signature.json'), 'utf8'));
  const inputs = signature.inputs.map((i) => ({ name: i.name, isString: i.onnx_type === 'string' }));
  const { probabilities, positive_class_index: positive } = signature.outputs;
  const session = await ort.InferenceSession.create(fs.readFileSync(path.join(dir, 'model.onnx')), {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });

  async function score(rows) {
    const n = rows.length;
    const feeds = {};
    for (const { name, isString } of inputs) {
      if (isString) {
        feeds[name] = new ort.Tensor(
          'string',
          rows.map((r) => r[name]),
          [n, 1],
        );
      } else {
        const values = new Float32Array(n);
        for (let i = 0; i < n; i++) values[i] = rows[i][name];
        feeds[name] = new ort.Tensor('float32', values, [n, 1]);
      }
    }
    // All outputs, as the app does (onnxruntime-node 1.23 answers a fetch list of ['probabilities'] with 'label' only).
    const out = await session.run(feeds);
    const tensor = out[probabilities];
    const width = tensor.dims[1] ?? 1;
    const result = new Array(n);
    for (let i = 0; i < n; i++) result[i] = tensor.data[i * width + positive];
    return result;
  }

  const app = Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024 });
  app.get('/health', async () => ({ status: 'ok' }));
  app.post('/predict', async (req, reply) => {
    const row = req.body;
    if (!row || typeof row !== 'object') return reply.code(400).send({ error: 'body must be a JSON object' });
    const [p] = await score([row]);
    return { customer_id: row.customer_id, churn_probability: p };
  });
  app.post('/predict/batch', async (req, reply) => {
    const rows = Array.isArray(req.body) ? req.body : req.body && req.body.customers;
    if (!Array.isArray(rows) || rows.length === 0) return reply.code(400).send({ error: 'send {"customers": [...]}' });
    const scores = await score(rows);
    return { predictions: rows.map((r, i) => ({ customer_id: r.customer_id, churn_probability: scores[i] })), total_processed: rows.length };
  });
  await app.listen({ port, host });
  const stop = () =>
    app
      .close()
      .then(() => session.release())
      .finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  console.log(`ceiling server on http://${host}:${port} (${path.join(dir, 'model.onnx')})`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
