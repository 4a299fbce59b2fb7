import { z } from "zod";

import {
  type EnvOf,
  type SubgraphSettings,
  url,
  variable,
  type VariableCatalogue,
} from "../../platform/config";
import { DEFAULT_DISPATCH_POLICY, type DispatchPolicy } from "./services/mail-dispatcher";
import type { MailSettings } from "./services/mailer";
import type { WebhookSettings } from "./services/webhooks";

export type NotificationSettings = MailSettings & {
  appUrl: string;
  dispatch?: DispatchPolicy;
  /** SMS and push endpoints; with a mail outbox (embedded mode), unset channels write to `<outbox>/../webhooks`. */
  webhooks?: WebhookSettings;
};

/** The variables only notification reads. */
export const NOTIFICATION_VARIABLES = {
  PUBLIC_APP_URL: variable(
    url(["http", "https"]).default("http://localhost:3000"),
    "notification: base URL of the links in e-mails (password reset, e-mail verification)",
  ),
  SMTP_URL: variable(url(["smtp", "smtps"]), "notification: SMTP server for e-mail"),
  MAIL_FROM: variable(
    z.string().min(3).default("ORION <no-reply@orion.local>"),
    "notification: sender address",
  ),
  SMS_WEBHOOK_URL: variable(
    url(["http", "https"]).optional(),
    "notification: endpoint SMS deliveries are POSTed to (JSON with the userId; unset: SMS waits PENDING)",
  ),
  PUSH_WEBHOOK_URL: variable(
    url(["http", "https"]).optional(),
    "notification: endpoint push deliveries are POSTed to (JSON with the userId; unset: push waits PENDING)",
  ),
  WEBHOOK_SIGNING_SECRET: variable(
    z.string().min(16).optional(),
    "notification: HMAC-SHA256 key of the x-orion-signature header on webhooks (unset: unsigned)",
  ),
} satisfies VariableCatalogue;

type NotificationEnv = EnvOf<typeof NOTIFICATION_VARIABLES>;

/** What the all-in-one process may change that the environment cannot. */
export interface NotificationOverrides {
  /** Embedded mode: each e-mail is written here as an .eml file instead of sent to SMTP_URL. */
  outboxDir?: string;
  /** Webhook settings that differ from SMS_WEBHOOK_URL, PUSH_WEBHOOK_URL, WEBHOOK_SIGNING_SECRET. */
  webhooks?: Partial<WebhookSettings>;
  /** E-mail retry tuning, over the default policy (tests: a long sweep keeps background queries out of counts). */
  dispatch?: Partial<DispatchPolicy>;
}

export function notificationSettingsFromEnv(
  env: NotificationEnv,
  overrides: NotificationOverrides = {},
): NotificationSettings {
  const transport =
    overrides.outboxDir === undefined ? { smtpUrl: env.SMTP_URL } : { outboxDir: overrides.outboxDir };
  return {
    ...transport,
    from: env.MAIL_FROM,
    appUrl: env.PUBLIC_APP_URL,
    webhooks: {
      signingSecret: env.WEBHOOK_SIGNING_SECRET,
      ...overrides.webhooks,
      urls: { SMS: env.SMS_WEBHOOK_URL, PUSH: env.PUSH_WEBHOOK_URL, ...overrides.webhooks?.urls },
    },
    ...(overrides.dispatch ? { dispatch: { ...DEFAULT_DISPATCH_POLICY, ...overrides.dispatch } } : {}),
  };
}

export const notificationSettings: SubgraphSettings<NotificationSettings, NotificationOverrides> = {
  variables: NOTIFICATION_VARIABLES,
  platformVariables: [],
  fromEnv: notificationSettingsFromEnv,
};
