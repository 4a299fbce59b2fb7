import { parseUsageFile, USAGE_FORMAT, UsageFileError } from "../../router/usage/usage-file";

const valid = {
  format: USAGE_FORMAT,
  from: "2026-12-01",
  to: "2026-12-07",
  clients: [
    { name: "web", version: "1.2.0", coordinates: { "User.email": { count: 3, lastSeen: "2026-12-06" } } },
  ],
};

describe("usage file", () => {
  it("reads what the export writes", () => {
    expect(parseUsageFile(JSON.stringify(valid))).toEqual(valid);
  });

  it.each([
    ["not JSON", "{", /is not JSON/],
    ["another format", JSON.stringify({ ...valid, format: "x" }), /format/],
    [
      "a negative count",
      JSON.stringify({
        ...valid,
        clients: [{ ...valid.clients[0], coordinates: { a: { count: -1, lastSeen: "2026-12-06" } } }],
      }),
      /clients\.0\.coordinates\.a\.count/,
    ],
    ["a bad day", JSON.stringify({ ...valid, to: "yesterday" }), /to: a day as YYYY-MM-DD/],
  ])("refuses %s with a one-line message", (_name, text, message) => {
    let error: unknown;
    try {
      parseUsageFile(text, "usage.json");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageFileError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("\n");
  });
});
