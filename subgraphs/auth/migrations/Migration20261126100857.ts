import { Migration } from "@mikro-orm/migrations";

export class Migration20261126100857 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "api_keys" ("id" uuid not null, "user_id" uuid not null, "name" text not null, "prefix" text not null, "secret_hash" text not null, "scopes" text[] not null, "created_at" timestamptz not null, "last_used_at" timestamptz null, "expires_at" timestamptz null, "revoked_at" timestamptz null, constraint "api_keys_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "api_keys" add constraint "api_keys_secret_hash_unique" unique ("secret_hash");`,
    );
    this.addSql(`create index "api_keys_user_id_created_at_index" on "api_keys" ("user_id", "created_at");`);

    this.addSql(
      `create table "audit_events" ("id" uuid not null, "type" text check ("type" in ('LOGIN_SUCCEEDED', 'LOGIN_FAILED', 'LOGIN_BLOCKED', 'REFRESH_TOKEN_REUSED', 'SESSION_REVOKED', 'LOGGED_OUT_EVERYWHERE', 'PASSWORD_CHANGED', 'PASSWORD_RESET_REQUESTED', 'PASSWORD_RESET', 'EMAIL_VERIFIED', 'ROLES_CHANGED', 'API_KEY_CREATED', 'API_KEY_REVOKED', 'ACCOUNT_DELETED', 'USER_REGISTERED')) not null, "user_id" uuid null, "actor_id" uuid null, "ip_address" text null, "user_agent" text null, "correlation_id" text null, "details" jsonb not null, "created_at" timestamptz not null, constraint "audit_events_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "audit_events_user_id_created_at_index" on "audit_events" ("user_id", "created_at");`,
    );
    this.addSql(`create index "audit_events_created_at_id_index" on "audit_events" ("created_at", "id");`);

    this.addSql(
      `create table "one_time_tokens" ("id" uuid not null, "user_id" uuid not null, "purpose" text check ("purpose" in ('PASSWORD_RESET', 'EMAIL_VERIFICATION')) not null, "token_hash" text not null, "expires_at" timestamptz not null, "used_at" timestamptz null, "created_at" timestamptz not null, constraint "one_time_tokens_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "one_time_tokens" add constraint "one_time_tokens_token_hash_unique" unique ("token_hash");`,
    );
    this.addSql(
      `create index "one_time_tokens_user_id_purpose_index" on "one_time_tokens" ("user_id", "purpose");`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "api_keys" cascade;`);

    this.addSql(`drop table if exists "audit_events" cascade;`);

    this.addSql(`drop table if exists "one_time_tokens" cascade;`);
  }
}
