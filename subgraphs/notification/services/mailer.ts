import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";

import nodemailer, { type Transporter } from "nodemailer";

export interface MailMessage {
  /**
   * The same for every attempt at one notification (`<id@orion>`): should a send be repeated (a
   * replica killed after the server took it, before it was marked sent), mail systems and clients
   * recognise the copy by its Message-ID.
   */
  messageId?: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

export type MailSettings = { from: string } & ({ smtpUrl: string } | { outboxDir: string });

/**
 * nodemailer over SMTP in production; on a laptop each message is written as an .eml file to a
 * local outbox folder, so a developer can open exactly what would have been sent.
 */
export function createMailer(settings: MailSettings): Mailer {
  if ("smtpUrl" in settings) {
    // A pool of kept-alive SMTP connections: a burst of mail does not pay a handshake per message.
    const url = new URL(settings.smtpUrl);
    if (!url.searchParams.has("pool")) url.searchParams.set("pool", "true");
    const transport: Transporter = nodemailer.createTransport(url.toString());
    return {
      send: async (message) => {
        await transport.sendMail({ from: settings.from, ...message });
      },
      close: () => transport.close(),
    };
  }
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });
  return {
    send: async (message) => {
      const info = await transport.sendMail({ from: settings.from, ...message });
      mkdirSync(settings.outboxDir, { recursive: true });
      const name = `${new Date().toISOString().replace(/[:.]/g, "-")}-${info.messageId.replace(/[^A-Za-z0-9]/g, "")}.eml`;
      // Written aside, then renamed: whoever watches the folder never opens half a message.
      const file = path.join(settings.outboxDir, name);
      writeFileSync(`${file}.tmp`, info.message as Buffer);
      renameSync(`${file}.tmp`, file);
    },
    close: () => transport.close(),
  };
}
