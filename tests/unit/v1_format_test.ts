/**
 * The v1 format: the shared vectors, round trips through our encryptor, and
 * every negative case of docs/backup-format.md, each caught with the right typed
 * error naming the frame and offset.
 */
import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import { aesKey, encryptV1, seededBytes, sha256Hex } from "../support/v1_fixtures.ts";
import { FrameEncryptStream } from "../../decrypt/frame_encrypt_stream.ts";
import { FrameDecryptStream } from "../../decrypt/frame_decrypt_stream.ts";
import { decryptBackup } from "../../decrypt/decrypt_backup.ts";
import {
  AuthenticationError,
  ChecksumMismatchError,
  FrameLengthError,
  TrailingBytesError,
  TruncatedError,
} from "../../decrypt/errors.ts";
import {
  CHUNK_SIZE,
  encryptedSize,
  FULL_FRAME_STRIDE,
  MAX_FRAME_LENGTH,
} from "../../decrypt/v1_format.ts";

const vectors = new URL("../fixtures/v1/", import.meta.url);
const MIB = CHUNK_SIZE;

async function decryptAll(
  enc: Uint8Array,
  options: { key?: CryptoKey; chunkSize?: number } = {},
): Promise<Uint8Array> {
  const key = options.key ?? await aesKey();
  const chunkSize = options.chunkSize ?? 65536;
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < enc.length; at += chunkSize) pieces.push(enc.subarray(at, at + chunkSize));
  const out = ReadableStream.from(pieces).pipeThrough(new FrameDecryptStream(key));
  return await new Response(out).bytes();
}

/** Frame boundaries of a v1 file: [offset, length] of every frame. */
function frames(enc: Uint8Array): Array<[number, number]> {
  const view = new DataView(enc.buffer, enc.byteOffset, enc.byteLength);
  const found: Array<[number, number]> = [];
  for (let at = 0;;) {
    const length = view.getUint32(at);
    if (length === 0) return found;
    found.push([at, length]);
    at += 4 + length;
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

Deno.test("shared vector kat1 decrypts to its zstd frame", async () => {
  const enc = await Deno.readFile(new URL("kat1.enc", vectors));
  const zst = await Deno.readFile(new URL("kat1.zst", vectors));
  assertEquals(sha256Hex(enc), "55ab3fda36916928acd87a826743651d657aee83818ed6a2665270fd363e72c3");
  assertEquals(await decryptAll(enc), zst);
  // Byte by byte: the reader does not depend on how input is chunked.
  assertEquals(await decryptAll(enc, { chunkSize: 1 }), zst);
  // The nonce in the vector is the one the spec names.
  assertEquals(enc.subarray(4, 16).toHex(), "a0a1a2a3a4a5a6a7a8a9aaab");
});

Deno.test("the empty backup is the terminator alone", async () => {
  const enc = await encryptV1(new Uint8Array(0));
  assertEquals(enc.toHex(), "00000000");
  assertEquals(sha256Hex(enc), "df3f619804a92fdb4057192dc43dd748ea778adc52bc498ce80524c014b81119");
  assertEquals((await decryptAll(enc)).length, 0);
});

for (
  const [label, size] of [
    ["1 byte", 1],
    ["exactly 1 MiB", MIB],
    ["1 MiB + 1", MIB + 1],
    ["5 MiB random", 5 * MIB],
  ] as const
) {
  Deno.test(`round trip: ${label}`, async () => {
    const plain = seededBytes(size, size);
    // Odd input chunking must not change frame boundaries.
    const enc = await encryptV1(plain, { chunkSize: 70_001 });
    assertEquals(enc.length, encryptedSize(size));
    const layout = frames(enc);
    assertEquals(layout.length, Math.ceil(size / MIB));
    layout.forEach(([offset, length], i) => {
      if (i < layout.length - 1) {
        assertEquals(offset, i * FULL_FRAME_STRIDE);
        assertEquals(length, MAX_FRAME_LENGTH);
      }
      assert(length <= MAX_FRAME_LENGTH && length > 28, "never an empty frame");
    });
    assertEquals(await decryptAll(enc), plain);
    // Each frame gets a fresh nonce.
    const nonces = new Set(layout.map(([offset]) => enc.subarray(offset + 4, offset + 16).toHex()));
    assertEquals(nonces.size, layout.length);
  });
}

Deno.test("frame boundaries do not depend on upstream chunking", async () => {
  const plain = seededBytes(2 * MIB + 5, 9);
  const fixedNonce = (nonce: Uint8Array) => nonce.fill(7);
  const encryptWith = async (chunkSize: number) => {
    const key = await aesKey();
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < plain.length; at += chunkSize) {
      pieces.push(plain.subarray(at, at + chunkSize));
    }
    const out = ReadableStream.from(pieces).pipeThrough(
      new FrameEncryptStream(key, { randomNonce: fixedNonce }),
    );
    return await new Response(out).bytes();
  };
  const a = await encryptWith(1000);
  const b = await encryptWith(3 * MIB);
  assertEquals(sha256Hex(a), sha256Hex(b));
});

Deno.test("an upstream failure leaves the output without a terminator", async () => {
  const key = await aesKey();
  const written: Uint8Array[] = [];
  const failing = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(seededBytes(MIB + 10));
      controller.error(new Error("dump failed"));
    },
  });
  await assertRejects(
    () =>
      failing.pipeThrough(new FrameEncryptStream(key)).pipeTo(
        new WritableStream({ write: (chunk) => void written.push(chunk) }),
      ),
    Error,
    "dump failed",
  );
  const out = concat(...written);
  // Whatever was written, it does not end in a terminator: a reader rejects it.
  await assertRejects(() => decryptAll(out), TruncatedError);
});

Deno.test("a reader accepts an empty frame (len 28) though writers never make one", async () => {
  const key = await aesKey();
  const nonce = new Uint8Array(12).fill(3);
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce }, key, new Uint8Array(0)),
  );
  const frame = concat(new Uint8Array([0, 0, 0, 28]), nonce, sealed);
  const tail = await encryptV1(new Uint8Array([1, 2, 3]));
  assertEquals(await decryptAll(concat(frame, tail)), new Uint8Array([1, 2, 3]));
});

// ---- negative cases -------------------------------------------------------

const twoFrames = encryptV1(seededBytes(MIB + 1000, 4));

Deno.test("wrong key: authentication fails in frame 0 at offset 0", async () => {
  const wrong = await aesKey(Uint8Array.from({ length: 32 }, (_, i) => 255 - i));
  const enc = await twoFrames;
  const failure = await assertRejects(
    () => decryptAll(enc, { key: wrong }),
    AuthenticationError,
    "AES-GCM authentication failed in frame 0 at offset 0: wrong key or corrupted file",
  );
  assertEquals([failure.frame, failure.offset], [0, 0]);
});

for (
  const [part, at] of [
    ["nonce", FULL_FRAME_STRIDE + 4 + 5],
    ["ciphertext", FULL_FRAME_STRIDE + 16 + 100],
    ["tag", FULL_FRAME_STRIDE + 4 + 12 + 1000 + 3],
  ] as const
) {
  Deno.test(`a bit flipped in the ${part} of frame 1 fails that frame`, async () => {
    const enc = (await twoFrames).slice();
    enc[at] ^= 0x10;
    const failure = await assertRejects(
      () => decryptAll(enc),
      AuthenticationError,
      `frame 1 at offset ${FULL_FRAME_STRIDE}`,
    );
    assertEquals(failure.frame, 1);
  });
}

/** Runs the whole pipeline with the token's SHA-256, as the CLI does. */
async function decryptWithChecksum(enc: Uint8Array, expectedSha256: string) {
  return await decryptBackup(ReadableStream.from([enc]), new WritableStream(), {
    key: await aesKey(),
    expectedSha256,
    decompress: false,
  });
}

Deno.test("frames swapped: every frame authenticates, the SHA-256 catches it", async () => {
  const enc = await encryptV1(seededBytes(3 * MIB, 5));
  const sha = sha256Hex(enc);
  const [f0, f1] = frames(enc);
  const swapped = concat(
    enc.subarray(f1[0], f1[0] + 4 + f1[1]),
    enc.subarray(f0[0], f0[0] + 4 + f0[1]),
    enc.subarray(2 * FULL_FRAME_STRIDE),
  );
  assertEquals((await decryptAll(swapped)).length, 3 * MIB); // v1's known weakness
  await assertRejects(() => decryptWithChecksum(swapped, sha), ChecksumMismatchError, sha);
});

Deno.test("a frame dropped: caught by the SHA-256", async () => {
  const enc = await encryptV1(seededBytes(3 * MIB, 6));
  const dropped = concat(enc.subarray(0, FULL_FRAME_STRIDE), enc.subarray(2 * FULL_FRAME_STRIDE));
  await assertRejects(
    () => decryptWithChecksum(dropped, sha256Hex(enc)),
    ChecksumMismatchError,
  );
});

Deno.test("cut at a frame boundary with a forged terminator: caught by the SHA-256", async () => {
  const enc = await encryptV1(seededBytes(3 * MIB, 7));
  const forged = concat(enc.subarray(0, 2 * FULL_FRAME_STRIDE), new Uint8Array(4));
  assertEquals((await decryptAll(forged)).length, 2 * MIB);
  await assertRejects(
    () => decryptWithChecksum(forged, sha256Hex(enc)),
    ChecksumMismatchError,
    "corrupted, truncated or reordered",
  );
});

Deno.test("no terminator: truncated after the last frame", async () => {
  const enc = await twoFrames;
  const cut = enc.subarray(0, enc.length - 4);
  const failure = await assertRejects(
    () => decryptAll(cut),
    TruncatedError,
    "file is truncated: no end-of-stream marker after frame 1",
  );
  assertEquals(failure.offset, cut.length);
});

Deno.test("partial frame length: truncated, with its offset", async () => {
  const enc = await twoFrames;
  const cut = enc.subarray(0, FULL_FRAME_STRIDE + 2);
  await assertRejects(
    () => decryptAll(cut),
    TruncatedError,
    `file is truncated at offset ${FULL_FRAME_STRIDE}: 2 of the 4 bytes of a frame length`,
  );
});

Deno.test("partial frame body: truncated in that frame", async () => {
  const enc = await twoFrames;
  const cut = enc.subarray(0, FULL_FRAME_STRIDE + 100);
  await assertRejects(
    () => decryptAll(cut),
    TruncatedError,
    `file is truncated in frame 1 at offset ${FULL_FRAME_STRIDE}: 96 of 1028 bytes present`,
  );
});

Deno.test("oversize frame length names the limit", async () => {
  const bad = concat(new Uint8Array([0, 0x10, 0, 0x7c]), new Uint8Array(64));
  await assertRejects(
    () => decryptAll(bad),
    FrameLengthError,
    "frame length 1048700 at offset 0 exceeds the maximum 1048604: not a v1 backup file?",
  );
});

Deno.test("undersize frame length names the limit", async () => {
  const enc = await twoFrames;
  const bad = enc.slice();
  new DataView(bad.buffer).setUint32(FULL_FRAME_STRIDE, 27);
  await assertRejects(
    () => decryptAll(bad),
    FrameLengthError,
    `frame length 27 at offset ${FULL_FRAME_STRIDE} is below the minimum 28`,
  );
});

Deno.test("bytes after the terminator are an error", async () => {
  const enc = await twoFrames;
  const failure = await assertRejects(
    () => decryptAll(concat(enc, new Uint8Array([1]))),
    TrailingBytesError,
    `after the end-of-stream marker at offset ${enc.length}`,
  );
  assertEquals(failure.offset, enc.length);
});

Deno.test("a file that is not v1 at all fails on its first frame length", async () => {
  await assertRejects(
    () => decryptAll(new TextEncoder().encode("PGDMP and more text")),
    FrameLengthError,
    "not a v1 backup file?",
  );
});
