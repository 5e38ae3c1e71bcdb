// Reference v1 encryptor for the benchmark, on Node.js and OpenSSL
// (node:crypto): 1 MiB frames of AES-256-GCM with a fresh nonce each, the
// terminator at the end, SHA-256 of the output. `openssl enc` cannot do
// GCM, so this stands for "OpenSSL encrypting the same data".
//
//   node reference_encrypt.mjs KEY_HEX IN OUT
import { createCipheriv, createHash, randomFillSync } from "node:crypto";
import { closeSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";

const [keyHex, inPath, outPath] = process.argv.slice(2);
const key = Buffer.from(keyHex, "hex");
const input = openSync(inPath, "r");
const output = openSync(outPath, "w", 0o600);
const hash = createHash("sha256");
const chunk = Buffer.alloc(1024 * 1024);
const head = Buffer.alloc(16);
const write = (buffer) => {
  hash.update(buffer);
  writeSync(output, buffer);
};
for (;;) {
  let filled = 0;
  while (filled < chunk.length) {
    const n = readSync(input, chunk, filled, chunk.length - filled, null);
    if (n === 0) break;
    filled += n;
  }
  if (filled === 0) break;
  randomFillSync(head, 4, 12);
  const cipher = createCipheriv("aes-256-gcm", key, head.subarray(4, 16));
  const body = Buffer.concat([
    cipher.update(chunk.subarray(0, filled)),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
  head.writeUInt32BE(12 + body.length, 0);
  write(head);
  write(body);
  if (filled < chunk.length) break;
}
write(Buffer.alloc(4));
fsyncSync(output);
closeSync(output);
closeSync(input);
console.log(hash.digest("hex"));
