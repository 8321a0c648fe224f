package seal_test

import (
	"fmt"
	"log"

	"github.com/complyhq/comply/seal"
)

func ExampleGenerateKey() {
	key, err := seal.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	// Encode returns the secret that users save, for example in
	// AUDIT_ENCRYPTION_KEY. Everything else prints a placeholder.
	fmt.Println(len(key.Encode()))
	fmt.Println(key)
	fmt.Printf("%#v\n", key)
	// Output:
	// 44
	// seal.Key(REDACTED)
	// seal.Key{REDACTED}
}

func ExampleKeyring_Encrypt() {
	key, err := seal.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	ring := seal.NewKeyring(key)

	stored, err := ring.Encrypt([]byte("What is 2+2?"))
	if err != nil {
		log.Fatal(err)
	}
	// stored is what goes into input_content: base64url of a Fernet token.
	fmt.Println(stored[:8])

	plaintext, err := ring.Decrypt(stored)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", plaintext)
	// Output:
	// Z0FBQUFB
	// What is 2+2?
}

func ExampleParseKeyring() {
	// After a rotation, the new key comes first and the old one stays, so
	// that entries written before the rotation remain readable. The old
	// key here is the test key of the reference library's interop files.
	ring, err := seal.ParseKeyring(`
# current key, from comply keygen on 2026-12-01
E2Ir4-PgMg3wAbIP9OG_kLy0k5lVMn9wMhj0HX5gAO4=
# retired on 2026-12-01
Ew1ybnQk2uJfke6yprKAGLdRyZCTsC18fhL7t-tKrWE=
`)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ring)

	// An entry written by the Python library under the old key.
	plaintext, err := ring.Decrypt("Z0FBQUFBQnJCeDBoc2RLSTQyRUZyaWxNSTNCSnFYRG9mQ1ppNTB1Nm13SEVXMjkzdURiZEdnQnl4MUJ5NHdYb25LREl2M1hJMU5NUDg0NkgzNWVFU211SlcxRlZkZk1lUFE9PQ==")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", plaintext)
	// Output:
	// seal.Keyring(2 keys, REDACTED)
	// secret
}
