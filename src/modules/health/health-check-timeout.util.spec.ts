import { HealthIndicatorService } from '@nestjs/terminus';
import { timedHealthCheck, withHealthCheckTimeout } from './health-check-timeout.util';

describe('the health-check timeout shared by every indicator', () => {
  it('gives up on a dependency that never answers, saying how long it waited', async () => {
    await expect(withHealthCheckTimeout(() => new Promise(() => undefined), 20)).rejects.toThrow('no answer within 20 ms');
  });

  it('passes an answer through', async () => {
    await expect(withHealthCheckTimeout(() => Promise.resolve(42), 20)).resolves.toBe(42);
  });

  it('reports up with the latency, or down with the latency and why, and never throws', async () => {
    const indicators = new HealthIndicatorService();
    const up = await timedHealthCheck(indicators, 'database', () => Promise.resolve());
    expect(up).toEqual({ database: { status: 'up', latency_ms: expect.any(Number) } });
    const down = await timedHealthCheck(indicators, 'mlflow', () => Promise.reject(new Error('connect ECONNREFUSED')));
    expect(down).toEqual({ mlflow: { status: 'down', latency_ms: expect.any(Number), error: 'connect ECONNREFUSED' } });
  });
});
