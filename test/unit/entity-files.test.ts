import "reflect-metadata";

import path from "node:path";

import { MetadataStorage } from "@mikro-orm/core";

import { PROJECT_ROOT } from "../../platform/paths";
import { SUBGRAPHS } from "../../subgraphs";

// The same inner shape in every subgraph: an entity lives in its own subgraph's entities/, alone in
// a file named after its class (ApiKeyRecord in api-key-record.entity.ts), so the name of a class is
// enough to find it. MikroORM records the file each @Entity was declared in.

const kebab = (name: string) => name.replace(/(?<=[a-z0-9])(?=[A-Z])/g, "-").toLowerCase();

describe("entity files", () => {
  const entities = Object.entries(SUBGRAPHS).flatMap(([subgraph, definition]) =>
    definition.entities.map((entity) => ({ subgraph, entity })),
  );

  it.each(entities.map(({ subgraph, entity }) => [entity.name, subgraph, entity] as const))(
    "%s is alone in subgraphs/%s/entities/, in a file named after it",
    (name, subgraph, entity) => {
      const declaredIn = MetadataStorage.getMetadataFromDecorator(entity as never).path;
      expect(path.relative(PROJECT_ROOT, declaredIn)).toBe(
        path.join("subgraphs", subgraph, "entities", `${kebab(name)}.entity.ts`),
      );
    },
  );
});
