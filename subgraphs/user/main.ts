import "reflect-metadata";
import { runMain, runSubgraphFromEnv } from "../../platform/standalone";
import { userSubgraph } from "./index";

if (require.main === module) runMain(() => runSubgraphFromEnv(userSubgraph));
