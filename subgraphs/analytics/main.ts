import "reflect-metadata";
import { runMain, runSubgraphFromEnv } from "../../platform/standalone";
import { analyticsSubgraph } from "./index";

if (require.main === module) runMain(() => runSubgraphFromEnv(analyticsSubgraph));
