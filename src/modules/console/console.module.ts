import { Module } from '@nestjs/common';
import { ConsoleRoutes } from './console.routes';

/** The operator console's static bundle at /console. */
@Module({ providers: [ConsoleRoutes] })
export class ConsoleModule {}
