/**
 * Which database a container runs, by docs/agent.md section 6: the image name
 * after dropping a registry host, a digest and the tag, lowercased, matched
 * against known images; labels override it (`backupy.enable=false` hides a
 * container, `backupy.type=...` sets the type, for retagged images).
 *
 * @module
 */
import type { EngineName } from "../engines/registry.ts";
import { engineForRepository, isEngineName } from "../engines/registry.ts";

/**
 * The repository path of an image reference: no registry host (a first
 * segment with "." or ":", or "localhost"), no digest, no tag, lowercase.
 *
 * @example
 * ```ts
 * import { imageRepository } from "./container_type.ts";
 * console.assert(imageRepository("registry.example.com:5000/Bitnami/PostgreSQL:16@sha256:ab") === "bitnami/postgresql");
 * ```
 */
export function imageRepository(image: string): string {
  let name = image.trim().toLowerCase();
  const at = name.indexOf("@");
  if (at >= 0) name = name.slice(0, at);
  const segments = name.split("/");
  if (
    segments.length > 1 &&
    (segments[0].includes(".") || segments[0].includes(":") || segments[0] === "localhost")
  ) {
    segments.shift();
  }
  const last = segments.length - 1;
  const colon = segments[last].indexOf(":");
  if (colon >= 0) segments[last] = segments[last].slice(0, colon);
  // Docker Hub's official images may be spelled library/postgres.
  if (segments.length === 2 && segments[0] === "library") segments.shift();
  return segments.join("/");
}

/** The engine an image name means (engines/registry.ts), or undefined for anything else. */
export function engineForImage(image: string): EngineName | undefined {
  return engineForRepository(imageRepository(image));
}

/** What the labels and the image say about a container. */
export type ContainerType =
  | { kind: "hidden" }
  | { kind: "engine"; engine: EngineName }
  | { kind: "unknown" };

/** The container's type: labels first, then the image rule. */
export function containerType(image: string, labels: Record<string, string>): ContainerType {
  if (labels["backupy.enable"]?.trim().toLowerCase() === "false") return { kind: "hidden" };
  const labelled = labels["backupy.type"]?.trim().toLowerCase();
  if (labelled && isEngineName(labelled)) return { kind: "engine", engine: labelled };
  const engine = engineForImage(image);
  return engine ? { kind: "engine", engine } : { kind: "unknown" };
}
