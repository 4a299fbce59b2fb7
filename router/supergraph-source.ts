import { createHash } from "node:crypto";
import { readFileSync, type Stats, unwatchFile, watchFile } from "node:fs";

import type { SupergraphSdlHook } from "@apollo/gateway";

import type { Logger } from "../platform/logger";

export interface SupergraphSourceOptions {
  /** The SDL to start from (default: read from `path`). */
  sdl?: string;
  /** The supergraph file: read at start when `sdl` is absent, and watched for changes when given. */
  path?: string;
  /** How often the file is checked (stat polling, which follows renames and symlink swaps); 0: never. */
  pollIntervalMs?: number;
  logger: Logger;
  /** Runs when the gateway stops (after the watch ends). */
  onStop?: () => Promise<void>;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * The gateway's supergraph: the committed SDL, never composed from live subgraphs, so the router
 * starts whatever state the subgraphs are in. With a path, a changed file replaces the schema
 * without a restart; a file that does not build (half-written, invalid) is logged and ignored, and
 * the router keeps serving the last good supergraph.
 */
export function supergraphSource(options: SupergraphSourceOptions): SupergraphSdlHook {
  return async ({ update }) => {
    const { path, logger } = options;
    if (options.sdl === undefined && path === undefined)
      throw new Error("the router needs a supergraph: give its SDL or its path");
    const initial = options.sdl ?? readFileSync(path!, "utf8");
    let current = sha256(initial);

    const reload = () => {
      let sdl: string;
      try {
        sdl = readFileSync(path!, "utf8");
      } catch (error) {
        logger.error({ err: error, path }, "supergraph file unreadable: keeping the current supergraph");
        return;
      }
      const id = sha256(sdl);
      if (id === current) return;
      try {
        update(sdl);
        current = id;
        logger.info({ path, id }, "supergraph reloaded");
      } catch (error) {
        logger.error({ err: error, path }, "supergraph file is invalid: keeping the current supergraph");
      }
    };
    const onChange = (now: Stats, before: Stats) => {
      if (now.mtimeMs !== before.mtimeMs || now.size !== before.size || now.ino !== before.ino) reload();
    };
    const watching = path !== undefined && (options.pollIntervalMs ?? 1000) > 0;
    if (watching) watchFile(path, { interval: options.pollIntervalMs ?? 1000, persistent: false }, onChange);

    return {
      supergraphSdl: initial,
      cleanup: async () => {
        if (watching) unwatchFile(path, onChange);
        await options.onStop?.();
      },
    };
  };
}
