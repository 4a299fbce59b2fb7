import { composeServices } from "@apollo/composition";
import type { ASTNode, GraphQLSchema } from "graphql";

import type { Finding, Location } from "./report";
import { locationOf } from "./sdl-index";
import type { ParsedSubgraph } from "./sources";

/**
 * Step "composition": the subgraphs compose into a supergraph (`composeServices`, as the router's
 * supergraph is built), and the API schema clients see is derived from it. Every error (level
 * error) and hint (warning, or info for the informational ones) carries its code, the subgraph
 * and the SDL line: the subgraphs are parsed with their file as the source name, so each node
 * @apollo/composition attaches to an error or hint says where it was written.
 */
export interface Composition {
  /** Absent when composition fails. */
  apiSchema?: GraphQLSchema;
  findings: Finding[];
}

/** The first quoted schema coordinate in a message: `Non-shareable field "User.name" is ...`. */
const QUOTED_COORDINATE = /"(@?[A-Za-z_]\w*(?:\.\w+)?(?:\(\w+:\))?)"/;

export function composeSubgraphs(
  subgraphs: ParsedSubgraph[],
  changed: ReadonlySet<string> = new Set(),
): Composition {
  const subgraphOfFile = new Map(subgraphs.map((subgraph) => [subgraph.file, subgraph.name]));
  const where = (nodes: readonly ASTNode[] | undefined) => {
    const located = (nodes ?? []).flatMap((node) => {
      const location = locationOf(node);
      return location ? [{ location, subgraph: subgraphOfFile.get(location.file) }] : [];
    });
    // An error between two subgraphs is reported where the change was made, when it was.
    return located.find(({ subgraph }) => subgraph && changed.has(subgraph)) ?? located[0];
  };
  const finding = (
    level: Finding["level"],
    kind: string,
    message: string,
    nodes: readonly ASTNode[] | undefined,
    coordinate?: string,
  ): Finding => {
    const at: { location: Location; subgraph?: string } | undefined = where(nodes);
    return {
      step: "composition",
      level,
      kind,
      coordinate: coordinate ?? QUOTED_COORDINATE.exec(message)?.[1],
      message,
      ...(at?.subgraph ? { subgraph: at.subgraph } : {}),
      ...(at ? { location: at.location } : {}),
    };
  };

  const result = composeServices(
    subgraphs.map(({ name, document }) => ({
      name,
      url: `http://${name}.invalid/graphql`,
      typeDefs: document,
    })),
  );
  if (result.errors) {
    return {
      findings: result.errors.map((error) =>
        finding("error", String(error.extensions.code ?? "COMPOSITION_ERROR"), error.message, error.nodes),
      ),
    };
  }
  return {
    apiSchema: result.schema.toAPISchema().toGraphQLJSSchema(),
    findings: result.hints.map((hint) =>
      finding(
        hint.definition.level.name === "WARN" ? "warning" : "info",
        hint.definition.code,
        hint.message,
        hint.nodes as readonly ASTNode[] | undefined,
        hint.coordinate,
      ),
    ),
  };
}
