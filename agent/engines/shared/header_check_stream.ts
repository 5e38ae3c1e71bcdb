/**
 * Holds back a dump's first bytes until its format's header can be
 * checked, then lets everything through. A dump that ends before its header
 * is complete - an empty dump above all - is an error: never a success.
 *
 * @module
 */
import { DumpError, type DumpFormat } from "./engine.ts";

/**
 * Passes bytes through once `format.checkHeader` accepted the start.
 *
 * @example
 * ```ts ignore
 * dump.readable.pipeThrough(new HeaderCheckStream(SQLITE_FORMAT));
 * ```
 */
export class HeaderCheckStream extends TransformStream<Uint8Array, Uint8Array> {
  /** Checks against `format`. */
  constructor(format: DumpFormat) {
    let head: Uint8Array | null = new Uint8Array(0);
    const check = (controller: TransformStreamDefaultController<Uint8Array>) => {
      const problem = format.checkHeader(head!);
      if (problem !== null) {
        throw new DumpError(`the dump does not start like a ${format.description}: ${problem}`);
      }
      controller.enqueue(head!);
      head = null;
    };
    super({
      transform(chunk, controller) {
        if (head === null) {
          controller.enqueue(chunk);
          return;
        }
        const joined = new Uint8Array(head.length + chunk.length);
        joined.set(head);
        joined.set(chunk, head.length);
        head = joined;
        if (head.length >= format.headerBytes) check(controller);
      },
      flush(controller) {
        if (head === null) return;
        if (head.length === 0) throw new DumpError("the dump is empty");
        check(controller);
      },
    });
  }
}
