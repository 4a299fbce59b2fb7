import { descendants } from "./proc";
import { ServiceProcess, signal } from "./processes";
import { within } from "./timing";

/** Clean-ups of outside state (databases, Redis keys, queues) to run if the script is interrupted. */
export const onAbort = new Set<() => Promise<unknown>>();

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

export interface ScriptOptions {
  /** Progress and failures (stderr). */
  log: (message: string) => void;
  /** The watchdog: past this the script is stopped however far it got. */
  limitMs: number;
  /** After an abort has killed everything and run onAbort: local clean-up (temp folders), best effort. */
  afterAbort?: () => void;
  /** After main threw (its own finally blocks have run): whatever it may have left. */
  afterFailure?: () => Promise<void>;
}

/**
 * Runs a long script (a benchmark, a measurement) to the exit code its main returns, bounded: past
 * limitMs (exit 2), or on Ctrl-C (130) or SIGTERM (143), every process it started is SIGKILLed
 * (each ServiceProcess's group, then any descendant left), each onAbort clean-up gets 20 s, then
 * afterAbort runs and the script exits. A main that throws is logged as FAILED and exits 1.
 */
export function runScript(main: () => Promise<number>, options: ScriptOptions): void {
  const { log } = options;
  let aborting = false;
  const emergencyStop = async (reason: string, code: number): Promise<never> => {
    if (!aborting) {
      aborting = true;
      log(`${reason}: killing every process this script started`);
      for (const service of [...ServiceProcess.running]) service.kill();
      for (const pid of descendants(process.pid)) signal(pid, "SIGKILL");
      for (const step of onAbort) {
        if (
          !(await within(
            step().catch(() => undefined),
            20_000,
          ))
        )
          log("an abort clean-up step timed out");
      }
      try {
        options.afterAbort?.();
      } catch {
        // best effort
      }
    }
    process.exit(code);
  };

  const watchdog = setTimeout(
    () => void emergencyStop(`still running after ${options.limitMs / 60_000} minutes`, 2),
    options.limitMs,
  );
  watchdog.unref();
  process.once("SIGINT", () => void emergencyStop("interrupted", 130));
  process.once("SIGTERM", () => void emergencyStop("terminated", 143));

  main()
    .then((code) => process.exit(code))
    .catch(async (error: unknown) => {
      log(`FAILED: ${errorText(error)}`);
      await options.afterFailure?.().catch(() => undefined);
      process.exit(1);
    });
}
