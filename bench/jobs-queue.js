#!/usr/bin/env node
/**
 * Our durable-job primitive (src/modules/jobs, compiled) against pg-boss 10, on the same Postgres in
 * the same run: enqueue throughput (jobs/s, `--producers` enqueues in flight) and pickup latency
 * (enqueue → handler start, p50/p99) at a steady `--rate`, with the same poll interval for both
 * (500 ms: pg-boss 10's minimum) and the same number of jobs in flight per worker (8).
 *
 * Pickup is measured "across replicas" (one instance enqueues, another works, as when the API of one
 * replica enqueues and any replica runs the job) and, for ours, also in-process (an enqueue on a replica
 * that handles the job starts it at once).
 *
 *   npx tsc -p tsconfig.build.json && node bench/jobs-queue.js [--jobs 3000] [--producers 8] [--rate 40] [--latency-jobs 400]
 *
 * DATABASE_URL: the Postgres to use (a scratch database: the bench creates its tables and schema
 * `pgboss_bench` there). Without it, an embedded Postgres is started under a temporary directory.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const DIST = path.resolve(__dirname, '..', 'dist');
if (!fs.existsSync(path.join(DIST, 'src', 'modules', 'jobs', 'jobs.service.js'))) {
  console.error('dist/ has no jobs module: run `npx tsc -p tsconfig.build.json` first');
  process.exit(2);
}
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const JOBS = opt('jobs', 3000);
const PRODUCERS = opt('producers', 8);
const RATE = opt('rate', 40);
const LATENCY_JOBS = opt('latency-jobs', 400);
const POLL_MS = 500;
const CONCURRENCY = 8;

const { Logger } = require('@nestjs/common');
const { Counter, Gauge, Histogram, Registry } = require('prom-client');
const { PgBoss } = loadPgBoss();
const { loadConfig } = require(path.join(DIST, 'src/config/config.js'));
const { createDataSource } = require(path.join(DIST, 'src/database/data-source.js'));
const { runMigrations } = require(path.join(DIST, 'src/database/migrations.js'));
const { startEmbeddedPostgres } = require(path.join(DIST, 'src/database/embedded-postgres.js'));
const { JobsService } = require(path.join(DIST, 'src/modules/jobs/jobs.service.js'));

function loadPgBoss() {
  const mod = require('pg-boss');
  return { PgBoss: mod.default ?? mod };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** A JobsService outside Nest: its own metrics registry, no decorator discovery (handlers registered by hand). */
function ourService(url, ds) {
  const registers = [new Registry()];
  const config = loadConfig({
    DATABASE_URL: url,
    DATA_DIR: os.tmpdir(),
    SCHEDULER_ENABLED: 'false',
    JOBS_POLL_MS: String(POLL_MS),
    JOBS_CONCURRENCY: String(CONCURRENCY),
  });
  const g = (name) => new Gauge({ name, help: name, labelNames: ['job_name'], registers });
  const c = (name, labelNames = ['job_name']) => new Counter({ name, help: name, labelNames, registers });
  return new JobsService(
    config,
    ds,
    undefined,
    undefined,
    undefined,
    g('last_success'),
    c('cron_runs', ['job_name', 'status']),
    g('queued'),
    g('running'),
    c('succeeded'),
    c('failed'),
    c('retried'),
    new Histogram({ name: 'duration', help: 'duration', labelNames: ['job_name', 'outcome'], registers }),
  );
}

/** `count` enqueues with `producers` in flight; jobs/s. */
async function throughput(count, producers, enqueue) {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: producers }, async () => {
      while (next < count) await enqueue(next++);
    }),
  );
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** Enqueues `count` jobs at `rate`/s; resolves with the sorted pickup latencies (ms) once all started. */
async function pickup(count, rate, enqueue, started) {
  const latencies = [];
  started.fn = (sentAt) => latencies.push(Date.now() - sentAt);
  for (let i = 0; i < count; i++) {
    await enqueue(i, Date.now());
    await sleep(1000 / rate);
  }
  const deadline = Date.now() + 30_000;
  while (latencies.length < count && Date.now() < deadline) await sleep(20);
  if (latencies.length < count) throw new Error(`only ${latencies.length} of ${count} jobs started`);
  return latencies.sort((a, b) => a - b);
}

async function benchOurs(url) {
  const ds = createDataSource(url, 10);
  await ds.initialize();
  const producer = ourService(url, ds);
  const consumer = ourService(url, ds);
  const run = Date.now();
  // Throughput: nobody works the queue.
  const tput = await throughput(JOBS, PRODUCERS, (i) => producer.enqueue('bench-enqueue', { i }, { key: `${run}-${i}` }));
  await ds.query(`DELETE FROM jobs WHERE name = 'bench-enqueue'`);

  // Pickup across replicas: the producer has no handler, the consumer polls.
  const hook = {};
  consumer.register('bench-pickup', async (ctx) => hook.fn(ctx.payload.sentAt));
  await consumer.onApplicationBootstrap();
  const across = await pickup(LATENCY_JOBS, RATE, (i, sentAt) => producer.enqueue('bench-pickup', { sentAt }, { key: `${run}-${i}` }), hook);
  // In-process: the consumer enqueues its own jobs.
  const local = await pickup(LATENCY_JOBS, RATE, (i, sentAt) => consumer.enqueue('bench-pickup', { sentAt }, { key: `${run}-local-${i}` }), hook);
  await consumer.onModuleDestroy();
  await producer.onModuleDestroy();
  await ds.query(`DELETE FROM jobs WHERE name LIKE 'bench-%'`);
  await ds.destroy();
  return { tput, across, local };
}

async function benchPgBoss(url) {
  const boss = new PgBoss({ connectionString: url, schema: 'pgboss_bench', max: 10, supervise: false, schedule: false });
  boss.on('error', (err) => console.error(`pg-boss: ${err.message}`));
  await boss.start();
  await boss.createQueue('bench-enqueue');
  const tput = await throughput(JOBS, PRODUCERS, (i) => boss.send('bench-enqueue', { i }));
  // (Its jobs stay: pg-boss 10 keeps each queue in its own partition, so they do not slow the pickup queue.)

  // pg-boss 10 waits a full poll interval between two fetches of a worker, even after a full batch: with
  // 8 jobs per fetch it cannot keep up with more than 16 jobs/s at 500 ms. So it is measured twice, with
  // our cap of 8 jobs in flight and with batches large enough for the rate.
  const pickupWith = async (queue, batchSize) => {
    await boss.createQueue(queue);
    const hook = {};
    const worker = await boss.work(queue, { pollingIntervalSeconds: POLL_MS / 1000, batchSize }, async (jobs) => {
      await Promise.all(jobs.map(async (job) => hook.fn(job.data.sentAt)));
    });
    const latencies = await pickup(LATENCY_JOBS, RATE, (i, sentAt) => boss.send(queue, { sentAt }), hook);
    await boss.offWork(worker);
    return latencies;
  };
  const across = await pickupWith('bench-pickup', CONCURRENCY);
  const acrossBig = await pickupWith('bench-pickup-big', Math.max(CONCURRENCY, Math.ceil((RATE * POLL_MS) / 1000) * 2));
  await boss.stop({ graceful: true, wait: true });
  return { tput, across, acrossBig };
}

async function main() {
  Logger.overrideLogger(['error']);
  let url = process.env.DATABASE_URL;
  let embedded;
  if (!url) {
    embedded = await startEmbeddedPostgres(fs.mkdtempSync(path.join(os.tmpdir(), 'jobs-bench-')), 54000 + Math.floor(Math.random() * 900));
    url = embedded.url;
  }
  try {
    await runMigrations(url);
    const fmt = (l) => `p50 ${pct(l, 50)} ms, p99 ${pct(l, 99)} ms`;
    // Alternate the order, so that neither always runs on a colder or a more bloated database.
    const ours = await benchOurs(url);
    const boss = await benchPgBoss(url);
    boss.acrossBig.sort((a, b) => a - b);
    const ours2 = await benchOurs(url);
    const oursTput = Math.max(ours.tput, ours2.tput);
    const across = [...ours.across, ...ours2.across].sort((a, b) => a - b);
    const local = [...ours.local, ...ours2.local].sort((a, b) => a - b);
    console.log(
      `machine: ${os.cpus().length} cpu(s), node ${process.version}; ${JOBS} enqueues with ${PRODUCERS} in flight; pickup of ${LATENCY_JOBS} jobs at ${RATE}/s, poll ${POLL_MS} ms`,
    );
    console.log(
      `enqueue   ours ${oursTput.toFixed(0)} jobs/s (runs: ${ours.tput.toFixed(0)}, ${ours2.tput.toFixed(0)})   pg-boss ${boss.tput.toFixed(0)} jobs/s   ratio ours/pg-boss ${(oursTput / boss.tput).toFixed(2)}`,
    );
    console.log(
      `pickup across replicas   ours ${fmt(across)}   pg-boss (8 per fetch) ${fmt(boss.across)}   p50 ratio ours/pg-boss ${(pct(across, 50) / pct(boss.across, 50)).toFixed(2)}`,
    );
    console.log(
      `pickup across replicas, pg-boss with batches sized for the rate (${Math.ceil((RATE * POLL_MS) / 1000) * 2} per fetch): ${fmt(boss.acrossBig)}   p50 ratio ours/pg-boss ${(pct(across, 50) / pct(boss.acrossBig, 50)).toFixed(2)}`,
    );
    console.log(`pickup in-process        ours ${fmt(local)}   (pg-boss 10 has no in-process wake-up: as above)`);
  } finally {
    await embedded?.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
