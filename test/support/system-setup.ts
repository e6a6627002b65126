import { Logger } from '@nestjs/common';
import { BootstrapLogger } from '../../src/common/logging/bootstrap-logger';

// System tests start services and wait for model swaps; jest's 5 s default is too short.
jest.setTimeout(120_000);
// Logs outside a running app (migrations, embedded Postgres) as JSON, warnings and worse only.
Logger.overrideLogger(new BootstrapLogger('warn'));
