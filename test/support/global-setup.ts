import { HOW_TO_START, missingServices, REAL_SERVICES, type RealService } from "./services";

/** Probes the real services once per run and tells every worker (through the environment) which are missing. */
export default async function globalSetup(): Promise<void> {
  const missing = await missingServices(Object.keys(REAL_SERVICES) as RealService[]);
  for (const name of Object.keys(REAL_SERVICES)) {
    process.env[`ORION_MISSING_${name.toUpperCase()}`] = missing.includes(name as RealService) ? "1" : "0";
  }
  if (missing.length > 0) {
    const line = "!".repeat(100);
    console.warn(
      `\n${line}\n  NOT RUN: suites that need ${missing.join(", ")} are skipped because those services are not running.\n` +
        `  To run them: ${HOW_TO_START}.\n${line}\n`,
    );
  }
}
