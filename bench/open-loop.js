'use strict';
// Open-loop load generator: fires requests on a fixed timer schedule (i / rate seconds after the start),
// whether or not earlier requests have been answered, over keep-alive connections (node:http Agent,
// opened on demand). Latency is measured from each request's *scheduled* send time to the end of its
// response, so a stall of the server (or of this process) shows in the percentiles instead of silently
// slowing the sender down (no coordinated omission). `sendLag` = actual send − scheduled send: how far
// behind its own schedule this generator ran (timer granularity is ~1 ms in Node); it is part of the
// measured latency, which therefore errs on the pessimistic side.

const http = require('node:http');
const { performance } = require('node:perf_hooks');

function createAgent() {
  return new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 512 });
}

/**
 * @param {{url: string, headers?: Record<string,string>, body: string, rate: number, duration: number,
 *          timeoutMs?: number, agent?: http.Agent}} o  rate in req/s, duration in s
 * @returns {Promise<{scheduled: number, ok: number, non2xx: number, errors: number, latencies: Float64Array,
 *          sendLags: Float64Array, elapsedMs: number, statusCodes: Record<string, number>}>}
 */
function openLoop(o) {
  const u = new URL(o.url);
  const agent = o.agent || createAgent();
  const body = Buffer.from(o.body);
  const headers = { 'content-type': 'application/json', ...(o.headers || {}), 'content-length': String(body.length) };
  const total = Math.max(1, Math.round(o.rate * o.duration));
  const interval = 1000 / o.rate;
  const timeoutMs = o.timeoutMs ?? 5000;
  const latencies = new Float64Array(total).fill(NaN);
  const sendLags = new Float64Array(total);
  const statusCodes = {};
  let next = 0;
  let finished = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;

  return new Promise((resolve) => {
    const t0 = performance.now() + 5;

    const finish = (i, scheduled, status) => {
      if (!Number.isNaN(latencies[i])) return;
      latencies[i] = performance.now() - scheduled;
      statusCodes[status || 'error'] = (statusCodes[status || 'error'] || 0) + 1;
      if (status >= 200 && status < 300) ok++;
      else if (status) non2xx++;
      else errors++;
      if (++finished === total) {
        if (!o.agent) agent.destroy();
        resolve({ scheduled: total, ok, non2xx, errors, latencies, sendLags, elapsedMs: performance.now() - t0, statusCodes });
      }
    };

    const fire = (i, scheduled) => {
      sendLags[i] = performance.now() - scheduled;
      const req = http.request({ agent, hostname: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers }, (res) => {
        res.on('data', () => {});
        res.on('end', () => finish(i, scheduled, res.statusCode));
        res.on('error', () => finish(i, scheduled, 0));
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
      req.on('error', () => finish(i, scheduled, 0));
      req.end(body);
    };

    const tick = () => {
      const now = performance.now();
      while (next < total && t0 + next * interval <= now) {
        fire(next, t0 + next * interval);
        next++;
      }
      if (next < total) setTimeout(tick, Math.max(0, t0 + next * interval - performance.now()));
    };
    setTimeout(tick, 5);
  });
}

module.exports = { openLoop, createAgent };
