// Package seal encrypts the content fields of audit entries, in the format
// the Python reference library (rotalabs_comply) reads and writes.
//
// The API is small on purpose. Load a [Keyring] once, with [KeyringFromEnv]
// or [LoadKeyring], then call [Keyring.Encrypt] (or [Keyring.AppendEncrypt] on
// hot paths) and [Keyring.Decrypt]. A Keyring is safe for concurrent use.
//
// # Stored format
//
// Content is sealed with Fernet (https://github.com/fernet/spec): AES-128 in
// CBC mode with PKCS #7 padding and a random IV, authenticated with
// HMAC-SHA256 in encrypt-then-MAC order. A Fernet token is
//
//	0x80 | timestamp (8 bytes, big-endian Unix seconds) | IV (16 bytes) |
//	ciphertext (a multiple of 16 bytes) | HMAC-SHA256 of all the above (32 bytes)
//
// encoded with URL-safe base64 with padding, so it starts with "gAAAAA".
// The reference library then base64-encodes that text once more before
// storing it:
//
//	stored = base64url(base64url(token))     // starts with "Z0FBQUFB"
//
// Encrypt produces exactly that double-encoded string, byte for byte what
// base64.urlsafe_b64encode(Fernet(key).encrypt(data)).decode() produces for
// the same key, time and IV. A stored value is about 1.8 times the length of
// the plaintext plus 130 bytes.
//
// Decrypt accepts the stored form and, for convenience, a bare Fernet token
// (the once-encoded "gAAAAA..." text, as Fernet.encrypt returns it); it tells
// them apart by the first decoded byte. It verifies the HMAC in constant time
// before it decrypts anything, and it ignores the timestamp: like the
// reference library, it applies no time-to-live. Failures are reported with
// errors that wrap [ErrMalformed] (not a Fernet token at all: bad base64,
// too short, wrong version byte, bad length or padding) or [ErrWrongKey]
// (well-formed, but no key in the keyring authenticates it: a missing key
// or altered content).
//
// Plaintext is arbitrary bytes and round-trips losslessly. The reference
// library decodes decrypted content as UTF-8, so store UTF-8 text if Python
// must read it.
//
// Encrypt allocates only the string it returns, and AppendEncrypt into a
// buffer with room to spare does not allocate at all. Sealing 2,000 bytes
// costs a few microseconds, most of it AES (CBC encryption is serial) and
// SHA-256; the two base64 passes are fused into one.
//
// # Keys
//
// A [Key] is a Fernet key: 32 random bytes, the first 16 for HMAC-SHA256
// and the last 16 for AES-128, written as 44 characters of URL-safe base64
// (what Fernet.generate_key() and `comply keygen` print). [Key.Encode]
// returns that text; it is the secret, so save it somewhere safe and treat
// it like a password. Everything else that formats a Key (String, GoString,
// fmt verbs, log/slog) prints a redacted placeholder, so a Key that ends up
// in a log line or an error message does not leak. No error from this
// package contains key material or plaintext.
//
// The key comes from the AUDIT_ENCRYPTION_KEY environment variable, as in
// the reference library ([KeyringFromEnv]), or from a file that only its
// owner can read, mode 0600 or 0400 ([LoadKeyring]). A key is the secret for
// every entry written under it: keep it out of version control, shell
// history and the log directory, and never put it in an entry's metadata.
//
// # Key rotation and key ids
//
// A keyring is one or more keys, written one per line or separated by
// commas or spaces; a '#' starts a comment that runs to the end of its
// line. Each key may carry an id, written "ID:KEY" (1 to 64 characters of
// A-Z a-z 0-9 . _ -; ':' is not in the base64url alphabet, so the split is
// unambiguous). A bare KEY gets the id [KeyID]: "k-" and 8 hex digits of a
// SHA-256 of the key under a fixed prefix, which names the key without
// revealing it. [NewNamedKeyring] builds a keyring from [NamedKey] values;
// ids are unique within a keyring.
//
// The first key is the primary: Encrypt always uses it, and
// [Keyring.PrimaryID] names it. Decrypt tries the primary first and then
// each older key in order; [Keyring.DecryptID] also tells which key opened
// the content. The Logger records the primary's id in each entry's
// metadata as encryption_key_version (the reference library's convention),
// so readers call [Keyring.DecryptWith] with that id instead of trying
// every key. To rotate, generate a new key (`comply keygen --id v2`) and
// put it in front of the old ones:
//
//	# current, from `comply keygen --id v2` on 2026-11-25
//	v2:<new key: 44 characters>
//	# retired 2026-11-25; still needed to read older logs
//	v1:<old key: 44 characters>
//
// The same syntax works in AUDIT_ENCRYPTION_KEY with commas. The reference
// library reads a single bare key, so keep a bare primary first if Python
// tools share the variable; entries it wrote have no
// encryption_key_version and are opened by trying each key.
package seal
