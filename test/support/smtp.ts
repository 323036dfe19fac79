import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** Date.now() when it was accepted. */
  at: number;
  to: string[];
  raw: string;
  subject: string;
  /** The plain-text body, decoded. */
  text: string;
  html: string;
  messageId: string | undefined;
}

/**
 * A real SMTP server on loopback playing the organisation's mail relay, keeping every message it
 * accepts, parsed (a retried message arrives again: SMTP is at-least-once). It can be told to refuse
 * mail with a temporary error (451) or to hold each message's final reply for a while. The one
 * implementation the tests and the fault suite use.
 */
export class MailSink {
  readonly received: ReceivedMail[] = [];
  /** Messages answered 451 while failing. */
  rejected = 0;
  /** Messages whose reply was held while hanging. */
  held = 0;
  private failUntil = 0;
  private hangUntil = 0;
  /** Recipients whose mail is refused (451) until accepted again. */
  private readonly refused = new Set<string>();
  /** `--break notices`: the next correction notice is recorded a second time under a fresh Message-ID. */
  private duplicateNextNotice = false;
  private port = 0;
  private server = this.createServer();

  failFor(ms: number): void {
    this.failUntil = Date.now() + ms;
  }

  hangFor(ms: number): void {
    this.hangUntil = Date.now() + ms;
  }

  /** Mail to this address is refused with a temporary error (a full mailbox, a relay's per-recipient limit). */
  refuseMailTo(address: string): void {
    this.refused.add(address);
  }

  acceptMailTo(address: string): void {
    this.refused.delete(address);
  }

  breakNotices(): void {
    this.duplicateNextNotice = true;
  }

  private createServer(): SMTPServer {
    return new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          void (async () => {
            if (session.envelope.rcptTo.some((r) => this.refused.has(r.address))) {
              this.rejected += 1;
              return callback(Object.assign(new Error('4.2.2 mailbox over quota (test)'), { responseCode: 452 }));
            }
            if (Date.now() < this.failUntil) {
              this.rejected += 1;
              return callback(Object.assign(new Error('4.3.0 mail relay temporarily unavailable (fault injection)'), { responseCode: 451 }));
            }
            if (Date.now() < this.hangUntil) {
              this.held += 1;
              await new Promise((resolve) => setTimeout(resolve, this.hangUntil - Date.now()));
            }
            const raw = Buffer.concat(chunks);
            let parsed;
            try {
              parsed = await simpleParser(raw);
            } catch (error) {
              return callback(error as Error);
            }
            const mail: ReceivedMail = {
              at: Date.now(),
              to: session.envelope.rcptTo.map((r) => r.address),
              raw: raw.toString(),
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
              messageId: parsed.messageId,
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
  }

  /** Listens (again, on the same port after a stop). */
  async start(): Promise<this> {
    this.server = this.createServer();
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  to(address: string): ReceivedMail[] {
    return this.received.filter((m) => m.to.includes(address));
  }

  async stop(): Promise<void> {
    this.failUntil = 0;
    this.hangUntil = 0;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
