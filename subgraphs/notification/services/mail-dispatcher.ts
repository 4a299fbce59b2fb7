import type { Database } from "../../../platform/database/database";
import { uuidArray } from "../../../platform/database/loaders";
import type { Logger } from "../../../platform/logger";
import { DeliveryStatus } from "../entities/notification.entity";
import type { Mailer } from "./mailer";

export interface DispatchPolicy {
  /** Attempts before a delivery is FAILED for good. */
  maxAttempts: number;
  /** How often due deliveries are looked for (crash recovery and retries). */
  sweepIntervalMs: number;
  /** A PENDING delivery nobody tried for this long is considered orphaned (its process died). */
  orphanAfterMs: number;
}

export const DEFAULT_DISPATCH_POLICY: DispatchPolicy = {
  maxAttempts: 6,
  sweepIntervalMs: 5000,
  orphanAfterMs: 30_000,
};

interface DueMail {
  id: string;
  attempts: number;
  to: string;
  subject: string;
  text: string;
  html: string;
}

/**
 * Sends recorded e-mail deliveries: right after the consumer's commit, and again from a sweep for
 * those that failed (backoff 2^n × 5 s) or whose process died before sending. Each delivery is
 * claimed with FOR UPDATE SKIP LOCKED, so replicas never send one twice; SENT or finally FAILED
 * deletes the rendered mail.
 */
export class MailDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private readonly background = new Set<Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly mailer: Mailer,
    private readonly logger: Logger,
    private readonly policy: DispatchPolicy = DEFAULT_DISPATCH_POLICY,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep().finally(() => (this.sweeping = null));
    }, this.policy.sweepIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sweeping;
    await Promise.all(this.background);
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
      .catch((error: unknown) => this.logger.warn({ err: error }, "bulk mail dispatch failed"))
      .finally(() => this.background.delete(run));
    this.background.add(run);
  }

  private async sweep(): Promise<void> {
    await this.send(
      `n.status = '${DeliveryStatus.PENDING}' and (n.next_attempt_at <= now()
         or (n.next_attempt_at is null and n.created_at < now() - make_interval(secs => ?)))`,
      [this.policy.orphanAfterMs / 1000],
      50,
    ).catch((error: unknown) => this.logger.warn({ err: error }, "mail sweep failed"));
  }

  private async send(condition: string, params: unknown[], limit = 1): Promise<void> {
    await this.db.orm.em.fork().transactional(async (em) => {
      const due = await em.execute<DueMail[]>(
        `select n.id, n.attempts, m.to, m.subject, m.text, m.html
         from notifications n join pending_mails m on m.notification_id = n.id
         where n.status = '${DeliveryStatus.PENDING}' and ${condition}
         order by n.created_at limit ${limit} for update of n skip locked`,
        params,
      );
      for (const mail of due) {
        const attempts = mail.attempts + 1;
        try {
          await this.mailer.send({ to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
          await em.execute(
            `update notifications set status = ?, attempts = ?, last_error = null, next_attempt_at = null where id = ?`,
            [DeliveryStatus.SENT, attempts, mail.id],
          );
          await em.execute(`delete from pending_mails where notification_id = ?`, [mail.id]);
        } catch (error) {
          const reason = (error instanceof Error ? error.message : String(error)).slice(0, 1000);
          const final = attempts >= this.policy.maxAttempts;
          this.logger.warn({ notificationId: mail.id, attempts, final, reason }, "e-mail not sent");
          await em.execute(
            `update notifications set status = ?, attempts = ?, last_error = ?,
               next_attempt_at = now() + make_interval(secs => ?) where id = ?`,
            [
              final ? DeliveryStatus.FAILED : DeliveryStatus.PENDING,
              attempts,
              reason,
              5 * 2 ** (attempts - 1),
              mail.id,
            ],
          );
          if (final) await em.execute(`delete from pending_mails where notification_id = ?`, [mail.id]);
        }
      }
    });
  }
}
