import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One occurrence of an alert as Alertmanager reported it (firing, then resolved). */
@Entity({ name: 'alert_incidents' })
export class AlertIncidentEntity {
  @PrimaryColumn('uuid') id: string;
  @Column('text') fingerprint: string;
  @Column('text') alertname: string;
  @Column({ type: 'text', nullable: true }) severity: string | null;
  @Column('text') status: 'firing' | 'resolved';
  @Column({ type: 'text', nullable: true }) summary: string | null;
  @Column('jsonb') labels: Record<string, string>;
  @Column('jsonb') annotations: Record<string, string>;
  @Column({ name: 'model_name', type: 'text', nullable: true }) modelName: string | null;
  @Column({ name: 'model_version', type: 'text', nullable: true }) modelVersion: string | null;
  @Column({ type: 'text', nullable: true }) receiver: string | null;
  @Column({ name: 'generator_url', type: 'text', nullable: true }) generatorUrl: string | null;
  @Column({ name: 'starts_at', type: 'timestamptz' }) startsAt: Date;
  @Column({ name: 'ends_at', type: 'timestamptz', nullable: true }) endsAt: Date | null;
  @Column({ name: 'first_received_at', type: 'timestamptz' }) firstReceivedAt: Date;
  @Column({ name: 'last_received_at', type: 'timestamptz' }) lastReceivedAt: Date;
  @Column('int') notifications: number;
  @Column({ type: 'text', nullable: true }) action: string | null;
}
