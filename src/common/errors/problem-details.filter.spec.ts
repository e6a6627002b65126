import { BadRequestException, NotFoundException } from '@nestjs/common';
import { MlflowUnavailableError } from '../../mlflow/mlflow.errors';
import { ValidationFailedError } from './app-error';
import { toProblem } from './problem-details.filter';

describe('toProblem', () => {
  it('keeps our code, detail and field errors', () => {
    const { problem } = toProblem(new ValidationFailedError([{ field: 'age', message: 'must be <= 100' }]), '/predict', 'r1');
    expect(problem).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
      instance: '/predict',
      request_id: 'r1',
      errors: [{ field: 'age', message: 'must be <= 100' }],
    });
    expect(problem.detail).toContain('age: must be <= 100');
  });

  it('never leaks internals of unexpected errors', () => {
    const { problem } = toProblem(new Error('password=hunter2 at db.ts:42'), '/x');
    expect(problem.status).toBe(500);
    expect(problem.code).toBe('INTERNAL');
    expect(JSON.stringify(problem)).not.toContain('hunter2');
  });

  it('maps framework and Fastify errors to stable codes', () => {
    expect(toProblem(new NotFoundException('Cannot GET /nope'), '/nope').problem).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(toProblem(new BadRequestException('bad'), '/x').problem.code).toBe('VALIDATION_FAILED');
    const tooLarge = Object.assign(new Error('Request body is too large'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    expect(toProblem(tooLarge, '/predict/batch').problem).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
  });

  it('passes headers such as Retry-After through', () => {
    const { headers } = toProblem(new MlflowUnavailableError('down'), '/x');
    expect(headers).toEqual({ 'retry-after': '10' });
  });
});
