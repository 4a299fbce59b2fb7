import { ConfigError, mergeCatalogues, PLATFORM_VARIABLES } from "../../platform/config";
import { parseServiceEnv, SERVICE_VARIABLES, VARIABLES } from "../../subgraphs";

describe("configuration", () => {
  it("lists every missing or malformed variable in one error", () => {
    const attempt = () =>
      parseServiceEnv("auth", {
        AUTH_DATABASE_URL: "mysql://nope",
        REDIS_URL: "redis://127.0.0.1:6379",
        AUTH_PORT: "http",
      });
    expect(attempt).toThrow(ConfigError);
    const problems = (() => {
      try {
        attempt();
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    })();
    const named = problems.map((p) => p.split(":")[0]).sort();
    expect(named).toEqual([
      "AMQP_URL",
      "AUTH_DATABASE_URL",
      "AUTH_PASSWORD_PEPPER",
      "AUTH_PORT",
      "AUTH_SIGNING_KEY",
      "IDENTITY_PUBLIC_KEY",
    ]);
    expect(problems.find((p) => p.startsWith("AMQP_URL"))).toContain("is required");
  });

  it("wants a pepper of at least 32 random bytes in base64", () => {
    const pepper = (value: string) =>
      parseServiceEnv("auth", { AUTH_PASSWORD_PEPPER: value }).AUTH_PASSWORD_PEPPER;
    const problemsWith = (value: string) => {
      try {
        pepper(value);
        return [];
      } catch (error) {
        return (error as ConfigError).problems.filter((p) => p.startsWith("AUTH_PASSWORD_PEPPER"));
      }
    };
    expect(problemsWith(Buffer.alloc(16, 1).toString("base64"))[0]).toMatch(/at least 32 random bytes/);
    expect(problemsWith("not base64 at all!")[0]).toMatch(/at least 32 random bytes/);
    expect(problemsWith(Buffer.alloc(32, 1).toString("base64"))).toEqual([]);
  });

  it("applies defaults and reads key material from a *_FILE secret", () => {
    const env = parseServiceEnv("router", {
      IDENTITY_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----\\nabc\\n-----END PRIVATE KEY-----",
      REDIS_URL: "redis://127.0.0.1:6379",
    });
    expect(env.ROUTER_PORT).toBe(3000);
    expect(env.IDENTITY_PRIVATE_KEY).toBe("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----");
    expect(() =>
      parseServiceEnv("router", {
        IDENTITY_PRIVATE_KEY_FILE: "/nonexistent/key.pem",
        REDIS_URL: "redis://127.0.0.1:6379",
      }),
    ).toThrow(/IDENTITY_PRIVATE_KEY/);
  });
});

describe("the merged catalogue", () => {
  it("refuses a variable declared twice (by the platform and a subgraph, or by two subgraphs)", () => {
    expect(() => mergeCatalogues(PLATFORM_VARIABLES, { JWT_ISSUER: PLATFORM_VARIABLES.JWT_ISSUER })).toThrow(
      /JWT_ISSUER is declared twice/,
    );
  });

  it("holds every variable each service reads", () => {
    for (const names of Object.values(SERVICE_VARIABLES))
      for (const name of names) expect(Object.keys(VARIABLES)).toContain(name);
  });
});
