import { type Database, dropDatabase, openDatabase } from "../../platform/database/database";
import { subgraphEntities, subgraphMigrations } from "../../platform/database/subgraph-schema";
import { createLogger } from "../../platform/logger";
import { notificationSubgraph } from "../../subgraphs/notification";
import {
  DeliveryStatus,
  Notification,
  NotificationChannel,
} from "../../subgraphs/notification/entities/notification.entity";
import { PendingMail } from "../../subgraphs/notification/entities/pending-mail.entity";
import { MailDispatcher } from "../../subgraphs/notification/services/mail-dispatcher";
import { createMailer, type Mailer } from "../../subgraphs/notification/services/mailer";
import { eventually } from "../support/async";
import { databaseUrl, describeWithServices, runId } from "../support/services";
import { startSmtpServer } from "../support/smtp";

// E-mail deliveries survive an SMTP outage and a crash between commit and send: the dispatcher
// retries PENDING deliveries with backoff, sends each once, and forgets the rendered mail after.

describeWithServices(["postgres"], "e-mail delivery retries", () => {
  const url = databaseUrl(`orion_test_${runId()}_mail`);
  const logger = createLogger("test", "silent");
  let db: Database;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let mailer: Mailer;
  let refuse = 0;

  beforeAll(async () => {
    db = await openDatabase({
      url,
      entities: subgraphEntities(notificationSubgraph),
      migrations: subgraphMigrations(notificationSubgraph),
      logger,
      contextName: "mail-test",
    });
    // Refuses the next `refuse` messages, then accepts.
    smtp = await startSmtpServer({
      refuse: () => {
        if (refuse === 0) return false;
        refuse--;
        return true;
      },
    });
    mailer = createMailer({ smtpUrl: smtp.url, from: "ORION <no-reply@orion.test>" });
  });

  afterAll(async () => {
    mailer?.close();
    await smtp?.close();
    await db?.close();
    await dropDatabase(url);
  });

  async function record(to: string, createdSecondsAgo = 0) {
    const em = db.orm.em.fork();
    const notification = Object.assign(new Notification(), {
      userId: crypto.randomUUID(),
      channel: NotificationChannel.EMAIL,
      kind: "test",
      title: "t",
      body: "b",
      createdAt: new Date(Date.now() - createdSecondsAgo * 1000),
    });
    em.persist([
      notification,
      Object.assign(new PendingMail(), {
        notificationId: notification.id,
        to,
        subject: "s",
        text: "x",
        html: "<p>x</p>",
      }),
    ]);
    await em.flush();
    return notification.id;
  }

  const state = async (id: string) => {
    const em = db.orm.em.fork();
    const notification = await em.findOneOrFail(Notification, { id });
    return { notification, pending: await em.count(PendingMail, { notificationId: id }) };
  };

  it("retries a refused send with backoff until it goes out, once", async () => {
    const dispatcher = new MailDispatcher(db, mailer, logger, {
      maxAttempts: 4,
      sweepIntervalMs: 100,
      orphanAfterMs: 60_000,
    });
    refuse = 1;
    const id = await record("retry@example.com");
    await dispatcher.dispatch(id);
    const failed = await state(id);
    expect(failed.notification).toMatchObject({ status: DeliveryStatus.PENDING, attempts: 1 });
    expect(failed.notification.lastError).toMatch(/mailbox busy/);
    expect(failed.pending).toBe(1);
    dispatcher.start();
    try {
      // The first retry is due 5 s after the failure.
      await eventually(async () => expect((await state(id)).notification.status).toBe(DeliveryStatus.SENT), {
        timeoutMs: 10_000,
      });
    } finally {
      await dispatcher.stop();
    }
    expect((await state(id)).pending).toBe(0);
    expect(smtp.received.filter((mail) => mail.to === "retry@example.com")).toHaveLength(1);
  }, 20_000);

  it("sends a delivery whose process died before sending (an orphaned PENDING)", async () => {
    const dispatcher = new MailDispatcher(db, mailer, logger, {
      maxAttempts: 4,
      sweepIntervalMs: 100,
      orphanAfterMs: 1000,
    });
    const id = await record("orphan@example.com", 5);
    dispatcher.start();
    try {
      await eventually(async () => expect((await state(id)).notification.status).toBe(DeliveryStatus.SENT));
    } finally {
      await dispatcher.stop();
    }
    expect(smtp.received.filter((mail) => mail.to === "orphan@example.com")).toHaveLength(1);
  });

  it("gives up after the last attempt: FAILED with its reason, the rendered mail deleted", async () => {
    const dispatcher = new MailDispatcher(db, mailer, logger, {
      maxAttempts: 1,
      sweepIntervalMs: 100,
      orphanAfterMs: 60_000,
    });
    refuse = 1;
    const id = await record("never@example.com");
    await dispatcher.dispatch(id);
    const final = await state(id);
    expect(final.notification).toMatchObject({ status: DeliveryStatus.FAILED, attempts: 1 });
    expect(final.pending).toBe(0);
  });
});
