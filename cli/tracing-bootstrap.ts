import { startTracing } from "../platform/tracing";

// `orion serve <service>` traces as that service; everything else (start, migrate, …) as "orion".
const [command, service] = process.argv.slice(2);
startTracing(command === "serve" && service ? service : "orion");
