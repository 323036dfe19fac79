// Pure (no I/O): workflows carry it in their messages.

/** Where a person acted from when not through the API: the chat account, room and message. */
export interface ChatVia {
  channel: 'matrix';
  /** Their Matrix user id. */
  user: string;
  room: string;
  /** The Matrix event id of the command. */
  event: string;
}
