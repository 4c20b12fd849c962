// The one flow format (SPEC section 7): a JSON Lines record per connection or aggregate.
import type { Endpoint } from './inventory-model.js';
import type { Protocol } from './model.js';

export interface FlowRecord {
  /** `<ns>/<pod>` or an IP address. */
  src: string;
  dst: string;
  protocol: Protocol;
  port: number;
  serverName?: string;
  /** How many connections this record stands for; 1 when absent. */
  count?: number;
  firstSeen?: string;
  lastSeen?: string;
}

/** A flow whose ends were resolved against the inventory. */
export interface ResolvedFlow {
  src: Endpoint;
  dst: Endpoint;
  protocol: Protocol;
  port: number;
  serverName?: string;
}
