import "reflect-metadata";

import { runMain } from "../../platform/lifecycle";
import { runSubgraphFromEnv } from "../../platform/standalone";
import { userSubgraph } from "./index";

if (require.main === module) runMain(() => runSubgraphFromEnv(userSubgraph));
