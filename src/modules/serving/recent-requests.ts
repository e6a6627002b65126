import { Injectable } from '@nestjs/common';
import { CustomerRecord } from './customer-validator';

const CAPACITY = 256;

/**
 * The last validated customers this replica scored, kept in memory only, so that a promotion's
 * smoke test can score real recent traffic with the candidate model.
 */
@Injectable()
export class RecentRequests {
  private readonly ring: CustomerRecord[] = [];
  private next = 0;

  add(customer: CustomerRecord): void {
    if (this.ring.length < CAPACITY) this.ring.push(customer);
    else this.ring[this.next] = customer;
    this.next = (this.next + 1) % CAPACITY;
  }

  sample(): CustomerRecord[] {
    return [...this.ring];
  }
}
