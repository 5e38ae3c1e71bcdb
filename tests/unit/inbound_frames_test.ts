/** control/inbound_frames.ts: the server's frames routed by where the handshake stands. */
import { create, toBinary } from "@bufbuild/protobuf";
import { type Envelope, EnvelopeSchema } from "@backupy/gen/backup/v1/envelope_pb.ts";
import { assertEquals } from "../support/assert.ts";
import { InboundFrames } from "../../agent/control/inbound_frames.ts";
import { Logger } from "../../agent/log/logger.ts";

function frame(payload: Envelope["payload"], seq: number): Uint8Array {
  return toBinary(EnvelopeSchema, create(EnvelopeSchema, { seq: BigInt(seq), payload }));
}

function inbound() {
  const dispatched: bigint[] = [];
  const lines: string[] = [];
  let bad = 0;
  const frames = new InboundFrames(
    (envelope) => dispatched.push(envelope.seq),
    Logger.create("debug", (line) => lines.push(line)),
    () => bad++,
  );
  return { frames, dispatched, lines, bad: () => bad };
}

const ack: Envelope["payload"] = { case: "registerAck", value: { sessionId: "s1" } as never };
const cancel: Envelope["payload"] = { case: "cancelJob", value: { jobId: "j" } as never };

Deno.test("the first Envelope answers the handshake; commands right behind it wait for it, in order", async () => {
  const { frames, dispatched } = inbound();
  frames.frame(frame(ack, 1));
  frames.frame(frame(cancel, 2));
  frames.frame(frame(cancel, 3));
  assertEquals((await frames.first)?.payload.case, "registerAck");
  assertEquals(dispatched, [], "held until the handshake is processed");
  frames.handshakeDone();
  assertEquals(dispatched, [2n, 3n]);
  frames.frame(frame(cancel, 4));
  assertEquals(dispatched, [2n, 3n, 4n]);
});

Deno.test("a frame that is not an Envelope is dropped and counted; a later RegisterAck is ignored", async () => {
  const { frames, dispatched, lines, bad } = inbound();
  const before = frames.lastDataAt;
  frames.frame(new Uint8Array([0xff, 0xff, 0xff]));
  assertEquals(bad(), 1);
  assertEquals(lines.some((l) => l.includes("not a valid Envelope")), true);
  frames.frame(frame(ack, 1));
  assertEquals((await frames.first)?.seq, 1n, "the bad frame did not count as the first");
  frames.handshakeDone();
  frames.frame(frame(ack, 2));
  assertEquals(dispatched, []);
  assertEquals(lines.some((l) => l.includes("ignored a RegisterAck after the handshake")), true);
  assertEquals(frames.lastDataAt >= before, true);
});

Deno.test("giving up before any Envelope answers the handshake with null", async () => {
  const { frames } = inbound();
  frames.giveUp();
  assertEquals(await frames.first, null);
});
