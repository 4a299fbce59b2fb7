import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  to: string;
  raw: string;
}

/**
 * A real SMTP server on a free loopback port that keeps what it receives. `refuse` decides, per
 * message, whether to answer with a temporary failure (451), as a busy mail server would.
 */
export async function startSmtpServer(options: { refuse?: () => boolean } = {}) {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    onData(stream, session, callback) {
      let raw = "";
      stream.on("data", (chunk: Buffer) => (raw += chunk.toString("utf8")));
      stream.on("end", () => {
        if (options.refuse?.())
          return callback(Object.assign(new Error("mailbox busy, try later"), { responseCode: 451 }));
        received.push({ to: session.envelope.rcptTo.map((r) => r.address).join(","), raw });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
