import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AlertIncidentEntity } from 'src/modules/alerting/alert-incident.entity';
import { AlertingController } from 'src/modules/alerting/alerting.controller';
import { alertingMetrics } from 'src/modules/alerting/alerting.metrics';
import { AlertingService } from 'src/modules/alerting/alerting.service';
import { ServingModule } from 'src/modules/serving/serving.module';

/** Incidents from Alertmanager, and the automatic canary rollback they may trigger. */
@Module({
  imports: [TypeOrmModule.forFeature([AlertIncidentEntity]), ServingModule],
  controllers: [AlertingController],
  providers: [AlertingService, ...alertingMetrics],
})
export class AlertingModule {}
