// Reference v1 decryptor for the benchmark, on Node.js and OpenSSL
// (node:crypto): read, SHA-256 the whole file, AES-256-GCM per frame, write,
// fsync. Deliberately straightforward: it stands for "the obvious
// single-threaded implementation on a fast crypto library".
//
//   node reference_decrypt.mjs KEY_HEX SHA256_HEX IN OUT
import { createDecipheriv, createHash } from "node:crypto";
import { closeSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";

const [keyHex, expectedSha, inPath, outPath] = process.argv.slice(2);
const key = Buffer.from(keyHex, "hex");
const input = openSync(inPath, "r");
const output = openSync(outPath, "w", 0o600);
const hash = createHash("sha256");
const lengthBytes = Buffer.alloc(4);
const frame = Buffer.alloc(1_048_604);

function readExactly(buffer, length) {
  let got = 0;
  while (got < length) {
    const n = readSync(input, buffer, got, length - got, null);
    if (n === 0) throw new Error("truncated");
    got += n;
  }
  hash.update(buffer.subarray(0, length));
}

for (;;) {
  readExactly(lengthBytes, 4);
  const length = lengthBytes.readUInt32BE(0);
  if (length === 0) break;
  if (length < 28 || length > 1_048_604) throw new Error("bad frame length");
  readExactly(frame, length);
  const decipher = createDecipheriv("aes-256-gcm", key, frame.subarray(0, 12));
  decipher.setAuthTag(frame.subarray(length - 16, length));
  const plain = decipher.update(frame.subarray(12, length - 16));
  decipher.final();
  writeSync(output, plain);
}
if (readSync(input, Buffer.alloc(1), 0, 1, null) !== 0) throw new Error("trailing bytes");
if (hash.digest("hex") !== expectedSha) throw new Error("sha256 mismatch");
fsyncSync(output);
closeSync(output);
closeSync(input);
