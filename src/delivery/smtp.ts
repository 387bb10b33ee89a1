import type * as Nodemailer from 'nodemailer';
import type { OutgoingMessage, Transport } from './transport';

/**
 * Email over SMTP with nodemailer (`SMTP_URL=smtp://user:pass@host:port`, `smtps://` for
 * implicit TLS). A message counts as delivered once the server accepted it (250 after DATA).
 * Short timeouts: a hung mail server costs the courier's worker an attempt (retried later),
 * never a request.
 */
export class SmtpTransport implements Transport {
  readonly name = 'smtp';
  private readonly transporter: Nodemailer.Transporter;
  private readonly fromAddress: string;

  constructor(smtpUrl: string, emailFrom: string) {
    // Loaded here, not at the top: a server without SMTP_URL (the development outbox) never
    // loads nodemailer (~1.4 MB of heap for the life of the process).
    const nodemailer = require('nodemailer') as typeof Nodemailer;
    this.transporter = nodemailer.createTransport({
      url: smtpUrl,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
    } as Nodemailer.TransportOptions);
    this.fromAddress = /<([^>]+)>/.exec(emailFrom)?.[1]?.trim() ?? emailFrom.trim();
  }

  async deliver(message: OutgoingMessage): Promise<void> {
    await this.transporter.sendMail({
      from: { name: message.fromName, address: this.fromAddress },
      to: message.to,
      subject: message.subject ?? '',
      text: message.body,
      headers: { 'x-gatehouse-app': message.appId, 'x-gatehouse-template': message.template },
    });
  }

  close(): void {
    this.transporter.close();
  }
}
