import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';

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
  const envelope = (mail: Mail) => ({
    from: options.from,
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    ...(mail.html ? { html: mail.html } : {}),
    messageId: messageIdFor(mail.idempotencyKey),
  });
  if (options.smtpUrl) {
    const transport = nodemailer.createTransport(options.smtpUrl);
    return {
      describe: `SMTP ${new URL(options.smtpUrl).host}`,
      async send(mail) {
        await transport.sendMail(envelope(mail));
      },
    };
  }
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    describe: `outbox ${options.outboxDir}`,
    outboxDir: options.outboxDir,
    async send(mail) {
      const info = await transport.sendMail(envelope(mail));
      await mkdir(options.outboxDir, { recursive: true });
      await writeFile(path.join(options.outboxDir, outboxFileName(mail.idempotencyKey)), info.message as Buffer);
    },
  };
}
