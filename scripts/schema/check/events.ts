import { syncEventCatalogue } from "../events/sync";
import { type Finding, type StepResult, stepResult } from "./report";

/**
 * Step "events": the event contract check `npm run check:schema` runs (scripts/schema/events/
 * sync.ts, check mode), in the same report. A payload changed incompatibly with its committed
 * contract, or a published version with no contract any more, is an error; a catalogue file that
 * is merely stale (regenerate with `npm run schema:compose`) is a warning. It reads the code of
 * the working tree: the base's events are the committed contract files themselves.
 */
export function checkEvents(): StepResult {
  const { errors, stale } = syncEventCatalogue({ check: true });
  const findings: Finding[] = [
    ...errors.map((error): Finding => ({
      step: "events",
      level: "error",
      kind: "EVENT_CONTRACT",
      message: error,
      ...eventLocation(error),
    })),
    ...stale.map((file): Finding => ({
      step: "events",
      level: "warning",
      kind: "EVENT_CATALOGUE_STALE",
      message: `schema/${file} does not match the code: run npm run schema:compose and commit it`,
      location: { file: `schema/${file}` },
    })),
  ];
  return stepResult("events", "event payloads against their committed contracts (schema/events/)", findings);
}

/** The contract file an error names (`schema/events/<type>.v<n>.json`), when it names one. */
function eventLocation(error: string): { location?: { file: string } } {
  const file = /schema\/events\/[\w.-]+\.json/.exec(error)?.[0];
  return file ? { location: { file } } : {};
}
