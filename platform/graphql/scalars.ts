import { GraphQLScalarType } from "graphql";
import { DateTimeResolver, JSONObjectResolver } from "graphql-scalars";

/** ISO-8601 in UTC, named as ../shared/API.graphql names it. Every subgraph maps `Date` to it. */
export const DateTimeScalar = new GraphQLScalarType({ ...DateTimeResolver.toConfig(), name: "DateTime" });
export const JSONObjectScalar = JSONObjectResolver;

export const SCALARS_MAP = [{ type: Date, scalar: DateTimeScalar }];
