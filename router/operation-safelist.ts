import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";

import { type ASTNode, type DocumentNode, Kind, parse, print, visit } from "graphql";

import { PERSISTED_DOCUMENTS_PATH } from "../platform/paths";

/** The safelist behind OPERATION_SAFELIST=true (persisted-operations.ts says how the router uses it). */

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * The operations a safelist admits, from codegen's manifest. Every entry is checked when loaded
 * (its key is the SHA-256 of its text, the text is one named operation with its fragments).
 */
export class OperationSafelist {
  private readonly decisions = new WeakMap<DocumentNode, boolean>();

  private constructor(
    private readonly documents: ReadonlyMap<string, string>,
    private readonly canonical: ReadonlySet<string>,
    private readonly operationNames: ReadonlySet<string>,
  ) {}

  static load(file: string = PERSISTED_DOCUMENTS_PATH): OperationSafelist {
    if (!existsSync(file))
      throw new Error(`operation safelist: ${file} is missing (npm run codegen writes it)`);
    return OperationSafelist.fromManifest(JSON.parse(readFileSync(file, "utf8")) as unknown, file);
  }

  static fromManifest(manifest: unknown, source = "manifest"): OperationSafelist {
    if (typeof manifest !== "object" || manifest === null || Array.isArray(manifest))
      throw new Error(`operation safelist: ${source} is not an object of sha256 -> document`);
    const documents = new Map<string, string>();
    const canonical = new Set<string>();
    const operationNames = new Set<string>();
    for (const [hash, text] of Object.entries(manifest)) {
      if (typeof text !== "string" || hash !== sha256(text))
        throw new Error(`operation safelist: ${source}: ${hash} is not the SHA-256 of its document`);
      const document = parse(text);
      const [name, ...others] = operationNamesOf(document);
      if (!name || others.length > 0)
        throw new Error(`operation safelist: ${source}: ${hash} must hold exactly one named operation`);
      documents.set(hash, text);
      canonical.add(canonicalPrint(document));
      operationNames.add(name);
    }
    return new OperationSafelist(documents, canonical, operationNames);
  }

  get size(): number {
    return this.documents.size;
  }

  /** The manifest document with this SHA-256 (hex). */
  document(hash: string): string | undefined {
    return this.documents.get(hash);
  }

  /**
   * True when the document is a manifest document, however printed. Decided once per parsed
   * document: Apollo reuses the parsed document of a query text it has seen.
   */
  allows(document: DocumentNode): boolean {
    let allowed = this.decisions.get(document);
    if (allowed === undefined) {
      // The cheap test first: an operation the manifest does not name is refused without printing anything.
      allowed =
        operationNamesOf(document).every((name) => name !== null && this.operationNames.has(name)) &&
        this.canonical.has(canonicalPrint(document));
      this.decisions.set(document, allowed);
    }
    return allowed;
  }
}

function operationNamesOf(document: DocumentNode): (string | null)[] {
  return document.definitions.flatMap((definition) =>
    definition.kind === Kind.OPERATION_DEFINITION ? [definition.name?.value ?? null] : [],
  );
}

/**
 * One printing per equivalent document: definitions, selections, arguments, variables, directives
 * and input object fields in a fixed order, block strings as plain strings. Two documents with the
 * same canonical print ask for the same thing (only the order of keys in the response may differ).
 */
export function canonicalPrint(document: DocumentNode): string {
  const sorted = <T extends ASTNode>(nodes: readonly T[] | undefined): T[] | undefined =>
    nodes
      ?.map((node) => ({ node, key: print(node) }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map(({ node }) => node);
  return print(
    visit(document, {
      Document: { leave: (node) => ({ ...node, definitions: sorted(node.definitions)! }) },
      OperationDefinition: {
        leave: (node) => ({
          ...node,
          variableDefinitions: sorted(node.variableDefinitions),
          directives: sorted(node.directives),
        }),
      },
      FragmentDefinition: { leave: (node) => ({ ...node, directives: sorted(node.directives) }) },
      SelectionSet: { leave: (node) => ({ ...node, selections: sorted(node.selections)! }) },
      Field: {
        leave: (node) => ({
          ...node,
          arguments: sorted(node.arguments),
          directives: sorted(node.directives),
        }),
      },
      FragmentSpread: { leave: (node) => ({ ...node, directives: sorted(node.directives) }) },
      InlineFragment: { leave: (node) => ({ ...node, directives: sorted(node.directives) }) },
      Directive: { leave: (node) => ({ ...node, arguments: sorted(node.arguments) }) },
      ObjectValue: { leave: (node) => ({ ...node, fields: sorted(node.fields)! }) },
      StringValue: { leave: (node) => ({ ...node, block: false }) },
    }),
  );
}
