/**
 * The public half of the release signing key (ECDSA P-256, SPKI, base64):
 * a self-update binary must carry a signature by the matching private key
 * (`cosign sign-blob --key`, kept in the release workflow's secrets).
 *
 * @module
 */

/** Built into every binary; nothing at run time can replace it. */
export const RELEASE_PUBLIC_KEY =
  "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEDzWamRkv9zP+QhFkDvoQVsTChr5qqemDQ7Cisbp/FBISEjHfezBhRzSe/jckaYmVPn8A9yjSImm9G5N2XRhp7w==";
