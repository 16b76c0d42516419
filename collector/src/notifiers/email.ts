import { createTransport } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { ChannelNotifier, type ChannelOptions } from './channel.js';
import { renderHtml, renderText, titleLine } from './messages.js';
import { type AlertGroup, type NotifyContext, NotifyError } from './notifier.js';

export interface EmailOptions extends ChannelOptions {
  host: string;
  port: number;
  /** TLS from the first byte (port 465). Otherwise STARTTLS is used when the server offers it. */
  secure: boolean;
  /** Refuse to send unless STARTTLS succeeded (when `secure` is false). */
  requireTLS: boolean;
  user?: string;
  pass?: string;
  from: string;
  to: string[];
}

/** An SMTP server as an e-mail channel gives it (the alert channel's options, or its config for the term mail). */
export type SmtpServer = Pick<
  EmailOptions,
  'host' | 'port' | 'secure' | 'requireTLS' | 'user' | 'pass' | 'timeoutMs'
>;

/** nodemailer's options for the channel's server: each step within its timeout (the socket's may be longer). */
export function smtpOptions(o: SmtpServer, socketTimeoutMs = o.timeoutMs): SMTPTransport.Options {
  return {
    host: o.host,
    port: o.port,
    secure: o.secure,
    requireTLS: o.requireTLS,
    connectionTimeout: o.timeoutMs,
    greetingTimeout: o.timeoutMs,
    socketTimeout: socketTimeoutMs,
    ...(o.user ? { auth: { user: o.user, pass: o.pass ?? '' } } : {}),
  };
}

/** nodemailer's error codes for a connection that failed or broke: worth another try. */
const RETRYABLE_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EPROTOCOL']);

function smtpError(err: unknown, where: string): NotifyError {
  const e = err as { code?: unknown; responseCode?: unknown; response?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  // An SMTP 4xx reply is "try again later" by definition; 5xx is permanent.
  const retryable =
    reply !== undefined ? reply >= 400 && reply < 500 : code !== undefined && RETRYABLE_CODES.has(code);
  const response = typeof e.response === 'string' ? ` ${e.response.slice(0, 200)}` : '';
  return new NotifyError(
    `${where}: ${code ?? 'error'}${reply !== undefined ? ` (SMTP ${reply})` : ''}${response}`,
    retryable,
    { cause: err },
  );
}

/**
 * E-mail over SMTP (nodemailer): subject = the title line, a plain-text and an HTML part, UTF-8
 * (nodemailer encodes the Chinese subject as RFC 2047 encoded-words). One connection per message.
 */
export class EmailNotifier extends ChannelNotifier<EmailOptions> {
  readonly type = 'email';

  render(group: AlertGroup): { subject: string; text: string; html: string } {
    return {
      subject: titleLine(group, this.language),
      text: renderText(group, this.language),
      html: renderHtml(group, this.language),
    };
  }

  async send(group: AlertGroup, ctx: NotifyContext): Promise<void> {
    const o = this.opts;
    const where = `${this.label} (${o.host}:${o.port})`;
    if (ctx.signal.aborted) throw new NotifyError(`${where}: cancelled`, false);
    const transport = createTransport(smtpOptions(o));
    const { subject, text, html } = this.render(group);
    const onAbort = () => transport.close();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const info = await transport.sendMail({ from: o.from, to: o.to, subject, text, html });
      if (info.rejected.length > 0 && info.accepted.length === 0) {
        throw new NotifyError(`${where}: all recipients rejected`, false);
      }
    } catch (err) {
      if (err instanceof NotifyError) throw err;
      if (ctx.signal.aborted) throw new NotifyError(`${where}: cancelled`, false, { cause: err });
      throw smtpError(err, where);
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      transport.close();
    }
  }
}
