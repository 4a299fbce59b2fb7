import "reflect-metadata";

import { execute, parse } from "graphql";
import { allow } from "graphql-shield";
import gql from "graphql-tag";
import { Directive, Field, ID, ObjectType, Query, Resolver } from "type-graphql";

import { buildFederatedSchema } from "../../platform/graphql/federated-schema";
import type { RuleMap } from "../../platform/graphql/rules";

/**
 * Deny by default, checked on a probe subgraph built through buildFederatedSchema: a field its rule
 * map does not name is refused, wherever it is asked for (that every real field is named:
 * permissions-coverage.test.ts).
 */

@ObjectType()
@Directive('@key(fields: "id")')
class PermissionProbe {
  @Field(() => ID)
  id!: string;

  @Field()
  listed!: string;

  @Field()
  unlisted!: string;
}

const PROBE = { id: "p1", listed: "visible", unlisted: "SECRET-FIELD" };

@Resolver(() => PermissionProbe)
class PermissionProbeResolver {
  @Query(() => PermissionProbe)
  probe(): PermissionProbe {
    return { ...PROBE };
  }

  @Query(() => String)
  unlistedQuery(): string {
    return "SECRET-QUERY";
  }
}

describe("graphql-shield permissions: deny by default, every field named", () => {
  it("refuses, with FORBIDDEN, a field its map does not name: at the root, on an object, and through _entities", async () => {
    const schema = buildFederatedSchema({
      resolvers: [PermissionProbeResolver],
      references: {
        PermissionProbe: ((reference: { id: string }) => ({ ...PROBE, id: reference.id })) as never,
      },
      permissions: { Query: { probe: allow }, PermissionProbe: { id: allow, listed: allow } } as RuleMap,
    });
    const run = async (source: string) =>
      JSON.parse(JSON.stringify(await execute({ schema, document: parse(source), contextValue: {} }))) as {
        data?: unknown;
        errors?: { message: string; extensions?: { code?: string } }[];
      };
    const codes = (result: Awaited<ReturnType<typeof run>>) => result.errors?.map((e) => e.extensions?.code);

    // Control: named fields answer, so the refusals below are the fallback rule, not a broken probe.
    expect(await run("{ probe { id listed } }")).toEqual({
      data: { probe: { id: "p1", listed: "visible" } },
    });
    const entities = gql`
      query ($r: [_Any!]!) {
        _entities(representations: $r) {
          ... on PermissionProbe {
            listed
          }
        }
      }
    `;
    const viaEntities = await execute({
      schema,
      document: entities,
      variableValues: { r: [{ __typename: "PermissionProbe", id: "p2" }] },
      contextValue: {},
    });
    expect(JSON.parse(JSON.stringify(viaEntities))).toEqual({ data: { _entities: [{ listed: "visible" }] } });

    for (const source of [
      "{ unlistedQuery }",
      "{ probe { unlisted } }",
      '{ _entities(representations: [{ __typename: "PermissionProbe", id: "p3" }]) { ... on PermissionProbe { unlisted } } }',
    ]) {
      const result = await run(source);
      expect({ source, codes: codes(result) }).toEqual({ source, codes: ["FORBIDDEN"] });
      expect(JSON.stringify(result)).not.toContain("SECRET");
    }
  });
});
