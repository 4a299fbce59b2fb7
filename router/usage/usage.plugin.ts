import type { ApolloServerPlugin, GraphQLRequestContextWillSendResponse } from "@apollo/server";
import {
  type DocumentNode,
  getNamedType,
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  Kind,
  type OperationDefinitionNode,
  separateOperations,
  typeFromAST,
} from "graphql";
import { LRUCache } from "lru-cache";

import type { Logger } from "../../platform/logger";
import type { RouterContext } from "../context";
import { documentCoordinates, variableCoordinates } from "./coordinates";
import type { UsageRecorder } from "./usage-recorder";

/** Documents whose coordinates are kept: the operations clients send are few and sent again and again. */
const DOCUMENT_CACHE_SIZE = 2_000;

interface DocumentUsage {
  coordinates: readonly string[];
  /** The operation alone, when its variables can carry enum values or input fields (walked per request). */
  variablesOf?: DocumentNode;
}

/**
 * Counts the schema coordinates of every operation that executed (its answer has `data`; refused
 * ones have none) under the client its `apollographql-client-name` / `-version` headers name. A
 * document's coordinates are worked out once and kept by query hash; only enum values and input
 * fields that arrive in variables are looked at per request. Recording is in memory: it never waits
 * on the store, and a failure in it never touches the answer.
 */
export function usagePlugin(recorder: UsageRecorder, logger: Logger): ApolloServerPlugin<RouterContext> {
  const documents = new LRUCache<string, DocumentUsage>({ max: DOCUMENT_CACHE_SIZE });
  let cachedFor: GraphQLSchema | undefined;
  let warned = false;
  const record = (context: GraphQLRequestContextWillSendResponse<RouterContext>) => {
    const { document, operation, schema, request, response } = context;
    const body = response.body;
    const data = body.kind === "single" ? body.singleResult.data : body.initialResult.data;
    if (!document || !operation || data === undefined) return;
    // A reloaded supergraph may spell a document's coordinates differently.
    if (schema !== cachedFor) {
      documents.clear();
      cachedFor = schema;
    }
    const key = `${context.queryHash}\n${operation.name?.value ?? ""}`;
    let usage = documents.get(key);
    if (!usage) documents.set(key, (usage = documentUsage(schema, document, operation)));
    const coordinates = usage.variablesOf
      ? variableCoordinates(schema, usage.variablesOf, request.variables, new Set(usage.coordinates))
      : usage.coordinates;
    const headers = request.http?.headers;
    recorder.record(
      {
        name: headers?.get("apollographql-client-name"),
        version: headers?.get("apollographql-client-version"),
      },
      coordinates,
    );
  };
  return {
    async requestDidStart() {
      return {
        async willSendResponse(context) {
          try {
            record(context);
          } catch (error) {
            if (!warned) logger.warn({ err: error }, "usage of an operation not recorded");
            warned = true;
          }
        },
      };
    },
  };
}

function documentUsage(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): DocumentUsage {
  const alone = operationAlone(document, operation);
  const carriesValues = (operation.variableDefinitions ?? []).some((definition) => {
    const type = typeFromAST(schema, definition.type);
    const named = type && getNamedType(type);
    return named !== undefined && (isEnumType(named) || isInputObjectType(named));
  });
  return {
    coordinates: [...documentCoordinates(schema, alone)],
    variablesOf: carriesValues ? alone : undefined,
  };
}

/** The executed operation and the fragments it uses: a document's other operations did not run. */
function operationAlone(document: DocumentNode, operation: OperationDefinitionNode): DocumentNode {
  const operations = document.definitions.filter(
    (definition) => definition.kind === Kind.OPERATION_DEFINITION,
  );
  if (operations.length <= 1) return document;
  return separateOperations(document)[operation.name?.value ?? ""] ?? document;
}
