import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AlertIncidentEntity } from './alert-incident.entity';
import { AlertingController } from './alerting.controller';
import { alertingMetrics } from './alerting.metrics';
import { AlertingService } from './alerting.service';
import { ServingModule } from '../serving/serving.module';

/** Incidents from Alertmanager, and the automatic canary rollback they may trigger. */
@Module({
  imports: [TypeOrmModule.forFeature([AlertIncidentEntity]), ServingModule],
  controllers: [AlertingController],
  providers: [AlertingService, ...alertingMetrics],
})
export class AlertingModule {}
