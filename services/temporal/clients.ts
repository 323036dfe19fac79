import type { Client } from '@temporalio/client';
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

export function workflowClients(client: Client, taskQueue: string): WorkflowClients {
  return {
    incidents: new IncidentClient(client, taskQueue),
    corrections: new CorrectionClient(client),
    regulatoryClocks: new RegulatoryClockClient(client),
    reviews: new ReviewClient(client),
  };
}
