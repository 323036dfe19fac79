import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { CorrectionClient } from '../correction/client.js';
import { IncidentClient } from '../incident/client.js';
import { RegulatoryClockClient } from '../regulatory/client.js';
import { ReviewClient } from '../review/client.js';

/** One typed client per workflow type that people act on. */
export interface WorkflowClients {
  incidents: IncidentClient;
  corrections: CorrectionClient;
  regulatoryClocks: RegulatoryClockClient;
  reviews: ReviewClient;
}

/** With the database, people's acknowledgements are recorded by the caller (IncidentClient.acknowledge). */
export function workflowClients(client: Client, taskQueue: string, db?: Kysely<Database>): WorkflowClients {
  return {
    incidents: new IncidentClient(client, taskQueue, db ? { db } : {}),
    corrections: new CorrectionClient(client),
    regulatoryClocks: new RegulatoryClockClient(client),
    reviews: new ReviewClient(client),
  };
}
