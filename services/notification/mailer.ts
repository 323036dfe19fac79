import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as eventLoopTurn } from 'node:timers/promises';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Stable per logical message: becomes the Message-ID, so a resend after a crash is recognisably the same mail. */
  idempotencyKey: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
  describe: string;
  /** The folder mail is written to instead of being sent; absent when it goes through SMTP. */
  outboxDir?: string;
}

/** The file in an outbox that holds the mail with this idempotency key. */
export function outboxFileName(key: string): string {
  return `${key.replace(/[^A-Za-z0-9._-]/g, '_')}.eml`;
}

/** The Message-ID a mail with this idempotency key carries (recorded with regulator submissions). */
export function messageIdFor(key: string): string {
  return `<${key.replace(/[^A-Za-z0-9._-]/g, '.')}@correx>`;
}

/**
 * Mail through SMTP when `SMTP_URL` is set; otherwise into an outbox folder (one .eml file per
 * message, named by its idempotency key), which local mode shows instead of sending.
 */
export function createMailer(options: { smtpUrl: string | undefined; outboxDir: string; from: string }): Mailer {
  const compose = composer(options.from);
  if (options.smtpUrl) {
    const transport = nodemailer.createTransport(options.smtpUrl);
    return {
      describe: `SMTP ${new URL(options.smtpUrl).host}`,
      async send(mail) {
        await transport.sendMail({ envelope: { from: options.from, to: mail.to }, raw: await compose(mail) });
      },
    };
  }
  return {
    describe: `outbox ${options.outboxDir}`,
    outboxDir: options.outboxDir,
    async send(mail) {
      // An outbox file has Unix line ends, as a mail client saves one.
      const message = (await compose(mail)).toString('utf8').replace(/\r\n/g, '\n');
      const file = path.join(options.outboxDir, outboxFileName(mail.idempotencyKey));
      try {
        await writeFile(file, message);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        await mkdir(options.outboxDir, { recursive: true });
        await writeFile(file, message);
      }
    },
  };
}

/**
 * Builds messages one at a time, letting the event loop turn before each. Building a message is one long
 * run of stream callbacks on the main thread, which every workflow activation of the worker also passes
 * through: a CPU profile showed the opening's four notices built together as one 30 ms stretch.
 */
function composer(from: string): (mail: Mail) => Promise<Buffer> {
  let previous: Promise<unknown> = Promise.resolve();
  return (mail) => {
    const built = previous.then(async () => {
      await eventLoopTurn();
      return new MailComposer({
        from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        ...(mail.html ? { html: mail.html } : {}),
        messageId: messageIdFor(mail.idempotencyKey),
      })
        .compile()
        .build();
    });
    previous = built.catch(() => {});
    return built;
  };
}
