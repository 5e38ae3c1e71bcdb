/** Self-update signatures: cosign's DER in base64, raw r||s, and what is refused. */
import { generateKeyPairSync, sign } from "node:crypto";
import {
  importPublicKey,
  rawSignature,
  SignatureFormatError,
  verifySignature,
} from "../../agent/update/update_signature.ts";
import { RELEASE_PUBLIC_KEY } from "../../agent/update/release_key.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../support/assert.ts";

const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const spki = keys.publicKey.export({ type: "spki", format: "der" }).toString("base64");
const binary = crypto.getRandomValues(new Uint8Array(4096));

Deno.test("a signature verifies as DER, base64 DER, raw and base64 raw; never over other bytes", async () => {
  const key = await importPublicKey(spki);
  const der = new Uint8Array(sign("sha256", binary, keys.privateKey));
  const raw = new Uint8Array(
    sign("sha256", binary, { key: keys.privateKey, dsaEncoding: "ieee-p1363" }),
  );
  const text = (bytes: Uint8Array) => new TextEncoder().encode(bytes.toBase64() + "\n");
  for (const form of [der, text(der), raw, text(raw)]) {
    assert(await verifySignature(key, form, binary));
  }
  const other = binary.slice();
  other[100] ^= 1;
  assertEquals(await verifySignature(key, der, other), false);
  assertEquals(rawSignature(der).length, 64);
  const wrongKey = await importPublicKey(RELEASE_PUBLIC_KEY);
  assertEquals(await verifySignature(wrongKey, der, binary), false);
});

Deno.test("base64 text that starts with 0 (the DER tag's byte) is still read as base64", async () => {
  const key = await importPublicKey(spki);
  // Sign other messages until a signature's base64 starts with "0": about one in 64 does
  // (signing one message twice gives one signature here).
  for (let tries = 0; tries < 2000; tries++) {
    const message = crypto.getRandomValues(new Uint8Array(64));
    const raw = new Uint8Array(
      sign("sha256", message, { key: keys.privateKey, dsaEncoding: "ieee-p1363" }),
    );
    const text = raw.toBase64();
    if (!text.startsWith("0")) continue;
    assert(await verifySignature(key, new TextEncoder().encode(text + "\n"), message));
    return;
  }
  throw new Error("no signature's base64 started with 0 in 2000 tries");
});

Deno.test("base64 text whose first two bytes look like a DER header is still read as base64", () => {
  // "0W" is 0x30 0x57: DER's SEQUENCE tag and a length of 87, what 88 base64 characters and a newline leave.
  const raw = new Uint8Array(64).map((_, i) => (i * 37 + 5) & 0xff);
  raw.set([0xd1, 0x60]);
  const text = `${raw.toBase64()}\n`;
  assertEquals(text.slice(0, 2), "0W");
  assertEquals(rawSignature(new TextEncoder().encode(text)), raw);
});

Deno.test("unreadable signatures are a clear error", async () => {
  assertThrows(() => rawSignature(new Uint8Array(10)), SignatureFormatError);
  assertThrows(() => rawSignature(new Uint8Array([0x30, 5, 2, 1, 1, 2, 1])), SignatureFormatError);
  assertThrows(
    () => rawSignature(new TextEncoder().encode("!!not base64!!")),
    SignatureFormatError,
  );
  const key = await importPublicKey(spki);
  await assertRejects(() => verifySignature(key, new Uint8Array(3), binary), SignatureFormatError);
});
