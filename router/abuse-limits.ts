import type { ApolloServerPlugin } from "@apollo/server";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import type { RequestHandler, Response } from "express";
import {
  type DocumentNode,
  getIntrospectionQuery,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  parse,
  type ParseOptions,
  validate,
  type ValidationRule,
  visit,
} from "graphql";

/**
 * How big a GraphQL request may be at the router. Each limit sits above the largest operation the
 * repository's clients send (schema/operations/*.graphql, as codegen prints them) and above the
 * introspection query Sandbox sends outside production, with room for operations clients have not
 * written yet. test/unit/abuse-limits.test.ts measures them all with `measureOperations` (operation-measures.ts), prints the
 * table and fails when one would be refused or comes within MARGIN (1.5x) of a limit:
 *
 * | limit          | largest measured                                              | limit  |
 * | -------------- | ------------------------------------------------------------- | ------ |
 * | depth          | 5 (Me, MyNotifications, Users, RefreshSession via its fragment) | 10   |
 * | cost           | 761 (Me, whose `notifications(first: 10)` multiplies its subtree) | 10000 |
 * | aliases        | 0                                                             | 10     |
 * | directives     | 0                                                             | 10     |
 * | tokens         | 184 (Sandbox's introspection query); 64 (AuditEvents)         | 1000   |
 * | characters     | 2075 (Sandbox's introspection query as sent); 655 (Me)        | 10000  |
 * | variablesBytes | 9519 (UpdateProfile, every field at its maximum in 3-byte UTF-8); 4270 (TrackEvent, 4 KB of properties); ~45 000 (SendNotification to 1000 users) | 65536 |
 *
 * Cost is graphql-armor's model: objects 2, scalars 1, x1.5 per level, x`first`/`last`. 10000 lets
 * `Me` ask for a full page of 100 notifications (7207) and refuses pages within pages
 * (`users(first: 100) { ... notifications(first: 100) }` costs 663294). Page sizes given as
 * variables count too (`pageSizeCostPlugin`). Aliases and directives are unused today: 10 leaves
 * room for `@include`/`@skip` and a few aliased fields, far below an alias-multiplication attack.
 */
export interface AbuseLimits {
  depth: number;
  cost: number;
  aliases: number;
  directives: number;
  /** Lexical tokens of the document (comments excluded), enforced by graphql-js's parser. */
  tokens: number;
  /** Characters of the document, refused before it is parsed. */
  characters: number;
  /** UTF-8 bytes of the JSON `variables` object. */
  variablesBytes: number;
}

export const ABUSE_LIMITS: AbuseLimits = {
  depth: 10,
  cost: 10_000,
  aliases: 10,
  directives: 10,
  tokens: 1000,
  characters: 10_000,
  // sendNotification to its 1000-user maximum is about 45 KB of variables.
  variablesBytes: 64 * 1024,
};

type ArmorConfig = NonNullable<ConstructorParameters<typeof ApolloArmor>[0]>;
export type AcceptCallback = (context: unknown, details: { n: number }) => void;

/**
 * graphql-armor's depth, cost, alias and directive rules as validation rules: a document over a
 * limit fails validation (GRAPHQL_VALIDATION_FAILED, HTTP 400) before anything is planned or sent
 * to a subgraph. Two armor protections are replaced by stricter ones: its max-tokens plugin
 * throws from `unexpectedErrorProcessingRequest` (HTTP 500, and a second parse of every document),
 * so the token limit is graphql-js's own parser limit (`parseOptions`, GRAPHQL_PARSE_FAILED, 400);
 * its suggestion masking misses enum and input-field suggestions, so every service strips "Did
 * you mean" from every error it formats (platform/http/http-service.ts).
 */
export function armorValidationRules(
  limits: AbuseLimits,
  onAccept?: Partial<Record<"depth" | "cost" | "aliases" | "directives", AcceptCallback>>,
  only?: "cost",
): ValidationRule[] {
  const accept = (key: keyof NonNullable<typeof onAccept>) =>
    onAccept?.[key] ? { onAccept: [onAccept[key] as never] } : {};
  const enabled = only === undefined;
  // A fresh configuration each time: ApolloArmor adds its rejection handler to the objects it is given.
  const config: ArmorConfig = {
    maxDepth: { enabled, n: limits.depth, ...accept("depth") },
    costLimit: { maxCost: limits.cost, ...accept("cost") },
    maxAliases: { enabled, n: limits.aliases, ...accept("aliases") },
    maxDirectives: { enabled, n: limits.directives, ...accept("directives") },
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  };
  return new ApolloArmor(config).protect().validationRules;
}

const PAGE_ARGUMENTS = new Set(["first", "last"]);
/**
 * The largest page any subgraph serves (pageSizeSchema in platform/graphql/page-info.type.ts). A
 * larger size given as a variable counts as this one: the subgraph refuses it with BAD_USER_INPUT
 * naming the argument, a clearer answer than a cost, and pages within pages still add up.
 */
export const MAX_PAGE_SIZE = 100;
/** Per parsed document (Apollo reuses them): the variables it takes page sizes from, and verdicts by sizes. */
interface PageSizeChecks {
  variables: string[];
  /** `operation:size,size...` -> the refusal's message, or null: a document is checked once per page sizes. */
  verdicts: Map<string, string | null>;
}
const pageSizeChecks = new WeakMap<DocumentNode, PageSizeChecks>();
const MAX_VERDICTS_PER_DOCUMENT = 200;

function pageSizeChecksOf(document: DocumentNode): PageSizeChecks {
  let checks = pageSizeChecks.get(document);
  if (!checks) {
    const variables = new Set<string>();
    visit(document, {
      Argument(node) {
        if (PAGE_ARGUMENTS.has(node.name.value) && node.value.kind === Kind.VARIABLE)
          variables.add(node.value.name.value);
      },
    });
    checks = { variables: [...variables], verdicts: new Map() };
    pageSizeChecks.set(document, checks);
  }
  return checks;
}

/**
 * Validation sees the document, not its variables, so armor's cost multiplies only literal page
 * sizes: `users(first: $n) { ... notifications(first: $m) }` would pass as if both were 1. Once the
 * variables are known, such a document's cost is computed again with the page sizes it was given
 * (or its variables' defaults; at most MAX_PAGE_SIZE) written in, and refused like any other over
 * the limit. The verdict is kept per document and page sizes, so a repeated request costs a lookup.
 */
export function pageSizeCostPlugin(limits: AbuseLimits): ApolloServerPlugin {
  const costRule = armorValidationRules(limits, undefined, "cost");
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request, schema }) {
          if (!operation) return;
          const checks = pageSizeChecksOf(document);
          if (checks.variables.length === 0) return;
          const sizes = new Map<string, number>();
          for (const name of checks.variables) {
            const value = request.variables?.[name];
            const fallback = operation.variableDefinitions?.find(
              (d) => d.variable.name.value === name,
            )?.defaultValue;
            const size = Number.isSafeInteger(value)
              ? (value as number)
              : fallback?.kind === Kind.INT
                ? Number(fallback.value)
                : undefined;
            if (size !== undefined) sizes.set(name, Math.min(size, MAX_PAGE_SIZE));
          }
          const key = `${operation.name?.value ?? ""}:${checks.variables.map((name) => sizes.get(name)).join(",")}`;
          let verdict = checks.verdicts.get(key);
          if (verdict === undefined) {
            const withPageSizes = visit(document, {
              Argument(node) {
                if (!PAGE_ARGUMENTS.has(node.name.value) || node.value.kind !== Kind.VARIABLE)
                  return undefined;
                const size = sizes.get(node.value.name.value);
                return size === undefined
                  ? undefined
                  : { ...node, value: { kind: Kind.INT, value: String(size) } };
              },
            });
            verdict = validate(schema, withPageSizes, costRule)[0]?.message ?? null;
            if (checks.verdicts.size >= MAX_VERDICTS_PER_DOCUMENT) checks.verdicts.clear();
            checks.verdicts.set(key, verdict);
          }
          if (verdict !== null)
            throw new GraphQLError(verdict, {
              extensions: { code: "GRAPHQL_VALIDATION_FAILED", http: { status: 400 } },
            });
        },
      };
    },
  };
}

export const parseOptions = (limits: AbuseLimits): ParseOptions => ({ maxTokens: limits.tokens });

const rejection = (res: Response, code: "GRAPHQL_PARSE_FAILED" | "BAD_REQUEST", message: string): void => {
  res.status(400).json({ errors: [{ message, extensions: { code } }] });
};

interface GraphQLParams {
  query?: unknown;
  variables?: unknown;
}

/**
 * Refuses, before anything is parsed, a document longer than the character limit, variables
 * larger than their limit and (when batching is on) a batch of more than `batchLimit` operations.
 * Mounted after the JSON body parser; GET requests carry the same parameters in the URL.
 */
export function refuseOversizedRequests(limits: AbuseLimits, batchLimit: number): RequestHandler {
  return (req, res, next) => {
    const body: unknown = req.method === "GET" ? req.query : req.body;
    if (Array.isArray(body) && batchLimit > 0 && body.length > batchLimit) {
      rejection(res, "BAD_REQUEST", `A batch may hold at most ${batchLimit} operations`);
      return;
    }
    // A compressed body's length says nothing of what it inflates to.
    const compressed = (req.headers["content-encoding"] ?? "identity") !== "identity";
    const declaredBytes = compressed
      ? Number.POSITIVE_INFINITY
      : Number(req.headers["content-length"] ?? Number.POSITIVE_INFINITY);
    for (const params of (Array.isArray(body) ? body : [body]) as (GraphQLParams | undefined)[]) {
      if (typeof params !== "object" || params === null) continue; // Apollo answers malformed requests
      if (typeof params.query === "string" && params.query.length > limits.characters) {
        rejection(
          res,
          "GRAPHQL_PARSE_FAILED",
          `Document exceeds ${limits.characters} characters; parsing refused`,
        );
        return;
      }
      // A body smaller than the variables limit cannot hold oversized variables: no serialisation.
      if (params.variables != null && (req.method === "GET" || declaredBytes > limits.variablesBytes)) {
        const serialized =
          typeof params.variables === "string" ? params.variables : JSON.stringify(params.variables);
        if (Buffer.byteLength(serialized) > limits.variablesBytes) {
          rejection(res, "BAD_REQUEST", `Variables exceed ${limits.variablesBytes} bytes`);
          return;
        }
      }
    }
    next();
  };
}

/** The introspection query Apollo Sandbox sends (every option graphql-js knows), which must pass outside production. */
export const SANDBOX_INTROSPECTION_QUERY = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  oneOf: true,
});

/**
 * Why the router would refuse a document under `limits` (empty: it passes), checked exactly as
 * the router checks: characters, then graphql-js's token limit, then validation with armor's rules.
 */
export function refusals(
  schema: GraphQLSchema,
  source: string,
  limits: AbuseLimits = ABUSE_LIMITS,
): string[] {
  if (source.length > limits.characters) return [`more than ${limits.characters} characters`];
  let document: DocumentNode;
  try {
    document = parse(source, parseOptions(limits));
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
  return validate(schema, document, armorValidationRules(limits)).map((error) => error.message);
}
