import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AccessPolicy, ModelFrom } from '../../common/auth/access-policy';
import { ApiKeyAuthenticator } from '../../common/auth/api-key-authenticator';
import { AuthenticatedRequest } from '../../common/auth/auth.decorators';
import { AppError } from '../../common/errors/app-error';
import { toProblem } from '../../common/errors/problem-details.filter';
import { BatchPredictionResponseSchema, PredictionResponseSchema } from './dto/prediction.schema';
import { PredictionService } from './prediction.service';

// Scores the served model, so a key scoped to another model is refused like anywhere else.
const PREDICT_POLICY: AccessPolicy = { roles: ['predict', 'operator'], model: ModelFrom.served() };

/**
 * POST /predict and /predict/batch as plain Fastify routes: the hottest path skips Nest's router,
 * guard, pipes and interceptors (measured: bench/RESULTS.md), but answers exactly like the rest of
 * the API — same API keys, roles, model scopes and rate limits (one authenticator), same problem+json
 * errors, same request ids.
 * Their OpenAPI description is added in predict.openapi.ts.
 */
@Injectable()
export class PredictRoutes implements OnModuleInit {
  private readonly logger = new Logger('Predict');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly authenticator: ApiKeyAuthenticator,
    private readonly predictions: PredictionService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const errorHandler = (err: unknown, request: FastifyRequest, reply: FastifyReply) => this.sendProblem(err, request, reply);
    fastify.route({
      method: 'POST',
      url: '/predict',
      // Serialised by fast-json-stringify, compiled once here from the one response schema, instead of JSON.stringify.
      schema: { response: { 200: PredictionResponseSchema } },
      errorHandler,
      handler: async (request, reply) => {
        await this.authenticate(request, reply);
        return this.predictions.predictOne(request.body, request.id);
      },
    });
    fastify.route({
      method: 'POST',
      url: '/predict/batch',
      schema: { response: { 200: BatchPredictionResponseSchema } },
      errorHandler,
      handler: async (request, reply) => {
        await this.authenticate(request, reply);
        return this.predictions.predictBatch(request.body, request.id);
      },
    });
  }

  private async authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const { principal, headers } = await this.authenticator.authorize(request, PREDICT_POLICY);
    (request as AuthenticatedRequest).principal = principal;
    void reply.headers(headers);
  }

  private sendProblem(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
    const { problem, headers } = toProblem(err, request.url, request.id);
    const keyId = (request as AuthenticatedRequest).principal?.keyId;
    if (problem.status >= 500 && !(err instanceof AppError)) this.logger.error({ err, requestId: request.id, keyId }, 'unhandled error');
    else if (problem.status >= 500)
      this.logger.warn({ requestId: request.id, keyId, status: problem.status, code: problem.code }, `${request.method} ${request.url}: ${problem.detail}`);
    else this.logger.log({ requestId: request.id, keyId, status: problem.status, code: problem.code }, `${request.method} ${request.url}: ${problem.detail}`);
    void reply.status(problem.status).headers(headers).type('application/problem+json').serializer(JSON.stringify).send(problem);
  }
}
