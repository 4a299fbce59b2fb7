import "reflect-metadata";
import { runMain, runSubgraphFromEnv } from "../../platform/standalone";
import { authSubgraph } from "./index";

if (require.main === module) runMain(() => runSubgraphFromEnv(authSubgraph));
