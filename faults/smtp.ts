import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  at: number;
  to: string[];
  subject: string;
  messageId: string | undefined;
}

function header(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  // Unfold continuation lines, then find the header.
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  return unfolded.match(new RegExp(`^${name}:[ \\t]*(.*)$`, 'im'))?.[1]?.trim();
}

/**
 * A real SMTP server on loopback playing the organisation's mail relay. It keeps every message it
 * accepts (a retried message arrives again: SMTP is at-least-once), and can be told to refuse mail
 * with a temporary error (451) or to hold each message's final reply for a while.
 */
export class FaultySmtp {
  readonly received: ReceivedMail[] = [];
  /** Messages answered 451 while failing. */
  rejected = 0;
  /** Messages whose reply was held while hanging. */
  held = 0;
  private failUntil = 0;
  private hangUntil = 0;
  private server?: SMTPServer;
  private port = 0;
  /** `--break notices`: the first notice is recorded a second time under a fresh Message-ID. */
  private duplicateNextNotice = false;

  failFor(ms: number): void {
    this.failUntil = Date.now() + ms;
  }

  hangFor(ms: number): void {
    this.hangUntil = Date.now() + ms;
  }

  breakNotices(): void {
    this.duplicateNextNotice = true;
  }

  async start(): Promise<this> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          void (async () => {
            if (Date.now() < this.failUntil) {
              this.rejected += 1;
              const error = Object.assign(new Error('4.3.0 mail relay temporarily unavailable (fault injection)'), { responseCode: 451 });
              callback(error);
              return;
            }
            if (Date.now() < this.hangUntil) {
              this.held += 1;
              await new Promise((resolve) => setTimeout(resolve, this.hangUntil - Date.now()));
            }
            const raw = Buffer.concat(chunks).toString();
            const mail: ReceivedMail = {
              at: Date.now(),
              to: session.envelope.rcptTo.map((r) => r.address),
              subject: header(raw, 'Subject') ?? '',
              messageId: header(raw, 'Message-ID'),
            };
            this.received.push(mail);
            if (this.duplicateNextNotice && /notice-(applied|lifted)@correx>$/.test(mail.messageId ?? '')) {
              this.duplicateNextNotice = false;
              // What a mailer minting a new Message-ID per attempt would produce: the same notice twice.
              this.received.push({ ...mail, messageId: `<resent-${Date.now()}@correx>` });
            }
            callback();
          })();
        });
      },
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.failUntil = 0;
    this.hangUntil = 0;
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
