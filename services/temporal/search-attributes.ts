import type { Connection } from '@temporalio/client';

/** Keyword search attributes of incident workflows, so operators find incidents in Temporal's own UI and CLI. */
export const correxSearchAttributes = ['CorrexSystem', 'CorrexSeverity', 'CorrexState', 'CorrexIncidentId'] as const;

const KEYWORD = 2; // temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD

/**
 * Registers the missing ones on the namespace. Where the credentials may not (Temporal Cloud, a locked
 * cluster) it says what to run instead and goes on: incidents then run without them.
 * Returns whether all are registered.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string, say: (line: string) => void): Promise<boolean> {
  try {
    const listed = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = correxSearchAttributes.filter((name) => !(name in (listed.customAttributes ?? {})));
    if (missing.length === 0) return true;
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((name) => [name, KEYWORD])) });
    say(`registered search attributes ${missing.join(', ')} on namespace ${namespace}`);
    return true;
  } catch (error) {
    say(
      `could not register the search attributes (${(error as Error).message.split('\n')[0]}); incidents run without them. Register them with: ${correxSearchAttributes
        .map((name) => `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type Keyword`)
        .join(' && ')}`,
    );
    return false;
  }
}

/** Whether the namespace has them all (checked by the processes that start incidents). */
export async function searchAttributesRegistered(connection: Pick<Connection, 'operatorService'>, namespace: string): Promise<boolean> {
  try {
    const listed = await connection.operatorService.listSearchAttributes({ namespace });
    return correxSearchAttributes.every((name) => name in (listed.customAttributes ?? {}));
  } catch {
    return false;
  }
}
