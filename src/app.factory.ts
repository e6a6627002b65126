import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { parseJsonBodies } from './common/errors/json-body-parser';
import { answerMethodNotAllowed } from './common/errors/method-not-allowed';
import { ProblemDetails } from './common/errors/problem-details';
import { documentProblemResponses } from './common/errors/problem-responses.openapi';
import { AppConfig } from './config/config.schema';
import { registerHttpMetrics } from './modules/metrics/http-metrics';
import { BatchPredictionRequestDto, CustomerDataDto } from './modules/serving/dto/prediction.dto';
import { addPredictionPaths } from './modules/serving/predict.openapi';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the HTTP application (shared by main.ts and the end-to-end tests). */
export async function createApp(config: AppConfig, databaseUrl: string): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Path parameters up to a URL-encoded customer id of 128 characters (DELETE /api/v1/customers/{id}); their DTOs check the length.
    maxParamLength: 2048,
    // Honour a caller's X-Request-Id when it is sane, otherwise mint one; pino-http reads it back from req.id.
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      (req as { id?: string }).id = id;
      return id;
    },
    disableRequestLogging: true,
  });
  answerMethodNotAllowed(adapter.getInstance());
  parseJsonBodies(adapter.getInstance());
  // bodyParser: false: JSON bodies are parsed by parseJsonBodies; no other body type is accepted.
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config, databaseUrl), adapter, { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  registerHttpMetrics(fastify);

  if (config.SWAGGER_ENABLED) {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Churn control plane')
        .setDescription('Train, register, govern, serve and monitor customer-churn models. Errors are application/problem+json.')
        .setVersion(config.serviceVersion)
        .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'api-key')
        .build(),
      { extraModels: [ProblemDetails, CustomerDataDto, BatchPredictionRequestDto] },
    );
    addPredictionPaths(document);
    documentProblemResponses(document);
    SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
  }
  return app;
}
