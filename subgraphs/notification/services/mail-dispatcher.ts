import type { Database } from "../../../platform/database/database";
import { uuidArray } from "../../../platform/database/loaders";
import type { Logger } from "../../../platform/logger";
import { DeliveryStatus, NotificationChannel } from "../entities/notification.entity";
import type { Mailer } from "./mailer";
import type { WebhookChannel, WebhookProvider } from "./webhooks";

export interface DispatchPolicy {
  /** Attempts before a delivery is FAILED for good. */
  maxAttempts: number;
  /** How often due deliveries are looked for (crash recovery and retries). */
  sweepIntervalMs: number;
  /** A PENDING delivery nobody tried for this long is considered orphaned (its process died). */
  orphanAfterMs: number;
  /** First retry delay, doubled per attempt (default 5000 ms). */
  backoffBaseMs?: number;
}

/** Deliveries sent at once by one process: SMTP's connection pool (5) and the DB pool stay ahead. */
const DISPATCH_CONCURRENCY = 4;

export const DEFAULT_DISPATCH_POLICY: DispatchPolicy = {
  maxAttempts: 6,
  sweepIntervalMs: 5000,
  orphanAfterMs: 30_000,
};

interface DueDelivery {
  id: string;
  attempts: number;
  channel: NotificationChannel;
  user_id: string;
  kind: string;
  title: string;
  body: string;
  created_at: Date;
  /** The rendered mail (EMAIL only; null otherwise). */
  to: string | null;
  subject: string | null;
  text: string | null;
  html: string | null;
}

/**
 * Sends recorded deliveries on every channel with a provider — e-mail through the Mailer, SMS and
 * push through the WebhookProvider — right after the commit, and again from a sweep for those that
 * failed (backoff 2^n × backoffBaseMs, 5 s by default) or whose process died before sending. Each delivery is claimed with
 * FOR UPDATE SKIP LOCKED, so replicas never send one twice; SENT or finally FAILED (with the
 * reason) deletes the rendered mail. SMS/push without a provider are never picked up.
 */
export class DeliveryDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private readonly background = new Set<Promise<void>>();
  private readonly queued: string[] = [];
  private senders = 0;

  constructor(
    private readonly db: Database,
    private readonly mailer: Mailer,
    private readonly logger: Logger,
    private readonly policy: DispatchPolicy = DEFAULT_DISPATCH_POLICY,
    private readonly webhooks: WebhookProvider | null = null,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep().finally(() => (this.sweeping = null));
    }, this.policy.sweepIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    // What is still queued stays PENDING: the next start's sweep sends it.
    this.queued.length = 0;
    await this.sweeping;
    await Promise.all(this.background);
  }

  /**
   * Queues a committed delivery for sending, a few at a time, without making the caller wait: an
   * event consumer hands its deliveries over and goes on with the next event. The delivery is
   * already durable (PENDING); a crash before it is sent leaves it to the sweep.
   */
  enqueue(notificationId: string): void {
    this.queued.push(notificationId);
    while (this.senders < DISPATCH_CONCURRENCY) {
      this.senders++;
      const run = (async () => {
        for (let next = this.queued.shift(); next !== undefined; next = this.queued.shift())
          await this.dispatch(next).catch((error: unknown) =>
            this.logger.warn({ err: error, notificationId: next }, "dispatch failed; the sweep retries it"),
          );
      })().finally(() => {
        this.senders--;
        this.background.delete(run);
      });
      this.background.add(run);
    }
  }

  /** Sends one delivery now, if it is still pending and nobody else holds it. */
  dispatch(notificationId: string): Promise<void> {
    return this.send(`n.id = ?`, [notificationId]);
  }

  /**
   * Sends many committed deliveries in the background, a batch per transaction; what is not sent
   * (a failure, a stop, a crash) stays PENDING for the sweep.
   */
  dispatchAll(notificationIds: readonly string[], batchSize = 50): void {
    if (notificationIds.length === 0) return;
    const run = (async () => {
      for (let i = 0; i < notificationIds.length; i += batchSize) {
        const batch = notificationIds.slice(i, i + batchSize);
        await this.send(`n.id = any(?::uuid[])`, [uuidArray(batch)], batch.length);
      }
    })()
      .catch((error: unknown) => this.logger.warn({ err: error }, "bulk dispatch failed"))
      .finally(() => this.background.delete(run));
    this.background.add(run);
  }

  private async sweep(): Promise<void> {
    await this.send(
      `n.status = '${DeliveryStatus.PENDING}' and (n.next_attempt_at <= now()
         or (n.next_attempt_at is null and n.created_at < now() - make_interval(secs => ?)))`,
      [this.policy.orphanAfterMs / 1000],
      50,
    ).catch((error: unknown) => this.logger.warn({ err: error }, "delivery sweep failed"));
  }

  private async send(condition: string, params: unknown[], limit = 1): Promise<void> {
    // Webhook channels with a provider: a constant list of enum names, never user input.
    const hooked = (this.webhooks?.channels ?? []).map((c) => `'${c}'`).join(", ");
    const routable = hooked
      ? `(m.notification_id is not null or n.channel in (${hooked}))`
      : `m.notification_id is not null`;
    await this.db.orm.em.fork().transactional(async (em) => {
      const due = await em.execute<DueDelivery[]>(
        `select n.id, n.attempts, n.channel, n.user_id, n.kind, n.title, n.body, n.created_at,
           m.to, m.subject, m.text, m.html
         from notifications n left join pending_mails m on m.notification_id = n.id
         where n.status = '${DeliveryStatus.PENDING}' and ${routable} and ${condition}
         order by n.created_at limit ${limit} for update of n skip locked`,
        params,
      );
      for (const delivery of due) {
        const attempts = delivery.attempts + 1;
        try {
          await this.deliver(delivery);
          await em.execute(
            `update notifications set status = ?, attempts = ?, last_error = null, next_attempt_at = null where id = ?`,
            [DeliveryStatus.SENT, attempts, delivery.id],
          );
          await em.execute(`delete from pending_mails where notification_id = ?`, [delivery.id]);
        } catch (error) {
          const reason = (error instanceof Error ? error.message : String(error)).slice(0, 1000);
          const final = attempts >= this.policy.maxAttempts;
          this.logger.warn(
            { notificationId: delivery.id, channel: delivery.channel, attempts, final, reason },
            "delivery not sent",
          );
          await em.execute(
            `update notifications set status = ?, attempts = ?, last_error = ?,
               next_attempt_at = now() + make_interval(secs => ?) where id = ?`,
            [
              final ? DeliveryStatus.FAILED : DeliveryStatus.PENDING,
              attempts,
              reason,
              ((this.policy.backoffBaseMs ?? 5000) / 1000) * 2 ** (attempts - 1),
              delivery.id,
            ],
          );
          if (final) await em.execute(`delete from pending_mails where notification_id = ?`, [delivery.id]);
        }
      }
    });
  }

  private async deliver(d: DueDelivery): Promise<void> {
    if (d.channel === NotificationChannel.EMAIL) {
      if (d.to === null) throw new Error("the rendered mail is missing");
      await this.mailer.send({
        messageId: `<${d.id}@orion.notification>`,
        to: d.to,
        subject: d.subject ?? "",
        text: d.text ?? "",
        html: d.html ?? "",
      });
      return;
    }
    if (!this.webhooks) throw new Error(`no provider configured for ${d.channel}`);
    await this.webhooks.send({
      id: d.id,
      channel: d.channel as WebhookChannel,
      userId: d.user_id,
      title: d.title,
      body: d.body,
      kind: d.kind,
      createdAt: new Date(d.created_at).toISOString(),
    });
  }
}

/** The former name, from when only e-mail was dispatched. */
export { DeliveryDispatcher as MailDispatcher };
