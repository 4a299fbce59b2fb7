import "reflect-metadata";

import { runMain } from "../../platform/lifecycle";
import { runSubgraphFromEnv } from "../../platform/standalone";
import { authSubgraph } from "./index";

if (require.main === module) runMain(() => runSubgraphFromEnv(authSubgraph));
