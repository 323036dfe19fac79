import type { ColumnType } from 'kysely';
import type { CreatedAt, UpdatedAt } from '../db/schema.js';

/** A Matrix room Correx keeps: a person's direct room, or an incident's room (migrations/2026-12-03T0200_chat.ts). */
export interface ChatRoomsTable {
  /** `incident:<incident id>` or `direct:<person id>:<matrix user id>`. */
  key: string;
  kind: 'incident' | 'direct';
  /** Null between the row being written and the homeserver creating the room. */
  room_id: ColumnType<string | null, string | null | undefined, string | null>;
  incident_id: ColumnType<string | null, string | null | undefined, string | null>;
  person: ColumnType<string | null, string | null | undefined, string | null>;
  matrix_user: ColumnType<string | null, string | null | undefined, string | null>;
  /** A direct room: the incident paged there last. */
  last_incident_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** An incident room: the last timeline event posted to it. */
  posted_seq: ColumnType<number, number | undefined, number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** Where the command listener's /sync stands, per Matrix account. */
export interface ChatSyncTable {
  account: string;
  next_batch: string;
  updated_at: UpdatedAt;
}

/** Each command read from a room, once per Matrix event id. */
export interface ChatCommandsTable {
  event_id: string;
  room_id: string;
  sender: string;
  body: string;
  person: string | null;
  incident_id: string | null;
  /** Null until handled: a command read but not handled (a crash) is handled on the next pass. */
  outcome: ColumnType<string | null, string | null | undefined, string | null>;
  reply: ColumnType<string | null, string | null | undefined, string | null>;
  received_at: CreatedAt;
  handled_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

declare module '../db/schema.js' {
  interface Database {
    chat_rooms: ChatRoomsTable;
    chat_sync: ChatSyncTable;
    chat_commands: ChatCommandsTable;
  }
}
