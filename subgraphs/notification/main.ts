import "reflect-metadata";
import { runMain, runSubgraphFromEnv } from "../../platform/standalone";
import { notificationSubgraph } from "./index";

if (require.main === module) runMain(() => runSubgraphFromEnv(notificationSubgraph));
