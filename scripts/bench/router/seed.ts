import pg from "pg";

import { login, mapLimit, register, waitForConsumers } from "../../support/graphql-client";
import type { Callers } from "./load";
import { CONNECTIONS, log, USERS } from "./settings";

/**
 * One USER and one ADMIN per connection (the ADMINs promoted in SQL, as the e2e tests do, then
 * signed in again), at least USERS people in all so that `users(first: 20)` returns 20.
 */
export async function seed(url: string, runId: string, authDatabaseUrl: string): Promise<Callers> {
  const count = Math.max(USERS, 2 * CONNECTIONS);
  log(`registering ${count} people through ${url} (bcrypt, ~0.3 s each)`);
  const emails = Array.from({ length: count }, (_, i) => `bench-${runId}-${i}@example.com`);
  const adminEmails = emails.slice(0, CONNECTIONS);
  const signedIn = await mapLimit(emails, 4, (email, i) =>
    register(url, email, `Bench ${i < CONNECTIONS ? "Admin" : "User"} ${String(i).padStart(2, "0")}`),
  );
  // Profiles, welcome messages and analytics counts come through events: wait until all are there.
  await mapLimit(signedIn, 4, (user) => waitForConsumers(url, user));
  const client = new pg.Client({ connectionString: authDatabaseUrl });
  await client.connect();
  try {
    await client.query("update users set roles = '{USER,ADMIN}' where email = any($1)", [adminEmails]);
  } finally {
    await client.end();
  }
  const admins = await mapLimit(adminEmails, 4, (email) => login(url, email));
  for (const admin of admins)
    if (!admin.roles.includes("ADMIN"))
      throw new Error(`${admin.email} signed in with roles ${admin.roles.join(",")}`);
  return {
    admins: admins.map((admin) => admin.token),
    users: signedIn.slice(CONNECTIONS).map((user) => user.token),
  };
}
