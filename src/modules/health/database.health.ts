import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { timedHealthCheck } from './health-check-timeout.util';

/** Terminus indicator: up when Postgres answers `SELECT 1` within the health-check timeout. */
@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  check() {
    return timedHealthCheck(this.indicators, 'database', () => this.db.query('SELECT 1'));
  }
}
