package seal

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const seedDir = "../testdata/seed-interop"

type vector struct {
	Plaintext   string `json:"plaintext"`
	Ciphertext  string `json:"ciphertext"`
	FernetToken string `json:"fernet_token"`
}

// seedVectors returns the seed's key and encryption vectors.
func seedVectors(t testing.TB) (Key, []vector) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(seedDir, "encryption_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Key     string   `json:"key"`
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	k, err := ParseKey(v.Key)
	if err != nil {
		t.Fatal(err)
	}
	if k.Encode() != seedKey(t).Encode() {
		t.Fatal("encryption_vectors.json and key.txt hold different keys")
	}
	return k, v.Vectors
}

// seedKey returns the key in key.txt.
func seedKey(t testing.TB) Key {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(seedDir, "key.txt"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParseKey(string(data))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustGenerate(t testing.TB) Key {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// tokenParams returns the timestamp and IV inside a bare Fernet token.
func tokenParams(t testing.TB, token string) (int64, []byte) {
	t.Helper()
	raw, err := base64.URLEncoding.DecodeString(token)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < minTokenLen {
		t.Fatalf("token is %d bytes", len(raw))
	}
	return int64(binary.BigEndian.Uint64(raw[1:9])), raw[9:25]
}

// checkNoSecrets fails if msg contains any form of k's material or any of
// the given plaintexts.
func checkNoSecrets(t testing.TB, msg string, k Key, plaintexts ...string) {
	t.Helper()
	if k.mat() != nil {
		var raw []byte
		raw = append(raw, k.mat().signing[:]...)
		raw = append(raw, k.mat().encryption[:]...)
		forms := []string{
			k.Encode(),
			k.Encode()[:20],
			k.Encode()[22:42],
			hex.EncodeToString(raw),
			hex.EncodeToString(k.mat().signing[:]),
			hex.EncodeToString(k.mat().encryption[:]),
			strings.ToUpper(hex.EncodeToString(k.mat().encryption[:])),
			fmt.Sprint(k.mat().signing[:]),
			fmt.Sprint(k.mat().encryption[:]),
			fmt.Sprint(k.mat().signing),
			base64.StdEncoding.EncodeToString(raw),
		}
		for _, f := range forms {
			if strings.Contains(msg, f) {
				t.Errorf("message contains key material: %q", msg)
				return
			}
		}
	}
	for _, p := range plaintexts {
		if len(p) >= 4 && strings.Contains(msg, p) {
			t.Errorf("message contains plaintext %q", p)
		}
	}
}

func TestSeedVectors(t *testing.T) {
	k, vectors := seedVectors(t)
	ring := NewKeyring(k)
	for i, v := range vectors {
		t.Run(fmt.Sprintf("%d/%d-bytes", i, len(v.Plaintext)), func(t *testing.T) {
			// The vectors must be what the README says: stored = b64(token).
			if got := base64.URLEncoding.EncodeToString([]byte(v.FernetToken)); got != v.Ciphertext {
				t.Fatalf("vector's ciphertext is not base64url(fernet_token)")
			}
			for name, in := range map[string]string{"stored": v.Ciphertext, "bare token": v.FernetToken} {
				got, err := ring.Decrypt(in)
				if err != nil {
					t.Fatalf("Decrypt(%s): %v", name, err)
				}
				if string(got) != v.Plaintext {
					t.Errorf("Decrypt(%s) = %q, want %q", name, got, v.Plaintext)
				}
			}

			// Encrypting with the same time and IV reproduces the
			// reference's output byte for byte.
			ts, iv := tokenParams(t, v.FernetToken)
			stored := encryptString(k.mat(), ts, iv, []byte(v.Plaintext))
			if stored != v.Ciphertext {
				t.Errorf("encrypt:\n got %s\nwant %s", stored, v.Ciphertext)
			}
			inner, err := base64.URLEncoding.DecodeString(stored)
			if err != nil {
				t.Fatal(err)
			}
			if string(inner) != v.FernetToken {
				t.Errorf("token:\n got %s\nwant %s", inner, v.FernetToken)
			}
			prefix := []byte("prefix:")
			appended := appendEncrypt(prefix, k.mat(), ts, iv, []byte(v.Plaintext))
			if string(appended) != "prefix:"+v.Ciphertext {
				t.Errorf("appendEncrypt:\n got %s\nwant prefix:%s", appended, v.Ciphertext)
			}
		})
	}
}

func TestSeedLog(t *testing.T) {
	k := seedKey(t)
	var expected struct {
		Modes map[string][]struct {
			Case   string `json:"case"`
			ID     string `json:"id"`
			Input  string `json:"input"`
			Output string `json:"output"`
		} `json:"modes"`
	}
	data, err := os.ReadFile(filepath.Join(seedDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &expected); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{}
	for _, e := range expected.Modes["encrypted"] {
		want[e.ID] = [2]string{e.Input, e.Output}
	}
	if len(want) != 5 {
		t.Fatalf("expected.json has %d encrypted cases, want 5", len(want))
	}

	f, err := os.Open(filepath.Join(seedDir, "encrypted", "audit_20261125.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ring := NewKeyring(k)
	fields := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct {
			ID            string  `json:"id"`
			InputContent  *string `json:"input_content"`
			OutputContent *string `json:"output_content"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		w, ok := want[e.ID]
		if !ok {
			t.Fatalf("entry %s is not in expected.json", e.ID)
		}
		for i, c := range []*string{e.InputContent, e.OutputContent} {
			if c == nil {
				t.Fatalf("entry %s: content field %d is null", e.ID, i)
			}
			got, err := ring.Decrypt(*c)
			if err != nil {
				t.Fatalf("entry %s field %d: %v", e.ID, i, err)
			}
			if string(got) != w[i] {
				t.Errorf("entry %s field %d = %q, want %q", e.ID, i, got, w[i])
			}
			// Reproduce the stored field exactly from its time and IV.
			inner, err := base64.URLEncoding.DecodeString(*c)
			if err != nil {
				t.Fatal(err)
			}
			ts, iv := tokenParams(t, string(inner))
			if again := encryptString(k.mat(), ts, iv, got); again != *c {
				t.Errorf("entry %s field %d: re-encryption differs", e.ID, i)
			}
			fields++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if fields != 10 {
		t.Errorf("decrypted %d content fields, want 10", fields)
	}
}

func TestRoundTrip(t *testing.T) {
	ring := NewKeyring(mustGenerate(t))
	big := make([]byte, 10<<20)
	rand.Read(big)
	tests := []struct {
		name      string
		plaintext []byte
	}{
		{"empty", []byte{}},
		{"nil", nil},
		{"1 byte", []byte("x")},
		{"NUL", []byte{0}},
		{"15 bytes", bytes.Repeat([]byte{'a'}, 15)},
		{"16 bytes", bytes.Repeat([]byte{'b'}, 16)},
		{"17 bytes", bytes.Repeat([]byte{'c'}, 17)},
		{"padding lookalike", bytes.Repeat([]byte{16}, 32)},
		{"unicode", []byte("Héllo — 你好 😀 \u0000\u001f")},
		{"invalid UTF-8", []byte{0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf0, 0x28, 0x8c, 0x28}},
		{"2000 bytes", bytes.Repeat([]byte("0123456789"), 200)},
		{"10 MB", big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, err := ring.Encrypt(tt.plaintext)
			if err != nil {
				t.Fatal(err)
			}
			_, wantLen := sizes(len(tt.plaintext))
			if len(stored) != wantLen || !strings.HasPrefix(stored, "Z0FBQUFB") {
				t.Errorf("stored form is %d bytes starting %.8q, want %d starting Z0FBQUFB", len(stored), stored, wantLen)
			}
			got, err := ring.Decrypt(stored)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Fatalf("round trip changed the plaintext")
			}
			if got == nil {
				t.Errorf("Decrypt returned nil, want a non-nil slice")
			}

			appended, err := ring.AppendEncrypt([]byte("x"), tt.plaintext)
			if err != nil {
				t.Fatal(err)
			}
			if len(appended) != 1+wantLen || appended[0] != 'x' {
				t.Fatalf("AppendEncrypt appended %d bytes, want %d", len(appended)-1, wantLen)
			}
			got, err = ring.Decrypt(string(appended[1:]))
			if err != nil || !bytes.Equal(got, tt.plaintext) {
				t.Fatalf("AppendEncrypt round trip: %v", err)
			}
		})
	}
}

func TestEncryptIsFresh(t *testing.T) {
	ring := NewKeyring(mustGenerate(t))
	before := time.Now().Unix()
	a, _ := ring.Encrypt([]byte("same"))
	b, _ := ring.Encrypt([]byte("same"))
	after := time.Now().Unix()
	if a == b {
		t.Fatal("two encryptions of the same plaintext are equal: IV reused")
	}
	inner, _ := base64.URLEncoding.DecodeString(a)
	ts, _ := tokenParams(t, string(inner))
	if ts < before || ts > after {
		t.Errorf("timestamp %d outside [%d, %d]", ts, before, after)
	}
}

func TestAppendEncryptOverlap(t *testing.T) {
	ring := NewKeyring(mustGenerate(t))
	buf := make([]byte, 0, 8192)
	buf = append(buf, "plaintext that lives in dst"...)
	pt := buf[:len(buf)]
	want := string(pt)
	out, err := ring.AppendEncrypt(buf[:0], pt)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ring.Decrypt(string(out))
	if err != nil || string(got) != want {
		t.Fatalf("overlapping AppendEncrypt: %q, %v", got, err)
	}
}

func TestRotation(t *testing.T) {
	a, b, c := mustGenerate(t), mustGenerate(t), mustGenerate(t)
	storedA, err := NewKeyring(a).Encrypt([]byte("written under A"))
	if err != nil {
		t.Fatal(err)
	}
	storedB, err := NewKeyring(b).Encrypt([]byte("written under B"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		ring   *Keyring
		stored string
		want   string
		err    error
	}{
		{"A alone reads A", NewKeyring(a), storedA, "written under A", nil},
		{"B then A reads A", NewKeyring(b, a), storedA, "written under A", nil},
		{"B then A reads B", NewKeyring(b, a), storedB, "written under B", nil},
		{"C then B then A reads A", NewKeyring(c, b, a), storedA, "written under A", nil},
		{"B alone cannot read A", NewKeyring(b), storedA, "", ErrWrongKey},
		{"C then B cannot read A", NewKeyring(c, b), storedA, "", ErrWrongKey},
		{"zero primary", NewKeyring(Key{}, a), storedA, "", ErrNoKey},
		{"nil keyring", nil, storedA, "", ErrNoKey},
		{"zero keyring", &Keyring{}, storedA, "", ErrNoKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.ring.Decrypt(tt.stored)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("Decrypt error = %v, want %v", err, tt.err)
			}
			if string(got) != tt.want {
				t.Errorf("Decrypt = %q, want %q", got, tt.want)
			}
			if err != nil {
				for _, k := range []Key{a, b, c} {
					checkNoSecrets(t, err.Error(), k, "written under")
				}
			}
		})
	}

	// The primary encrypts.
	stored, err := NewKeyring(b, a).Encrypt([]byte("new"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewKeyring(a).Decrypt(stored); !errors.Is(err, ErrWrongKey) {
		t.Errorf("content encrypted by ring (B, A) readable with A alone: %v", err)
	}
	if _, err := NewKeyring(b).Decrypt(stored); err != nil {
		t.Errorf("content encrypted by ring (B, A) not readable with B: %v", err)
	}
}

func TestNoKey(t *testing.T) {
	for name, r := range map[string]*Keyring{"nil": nil, "zero": new(Keyring), "zero primary": NewKeyring(Key{})} {
		if _, err := r.Encrypt([]byte("x")); !errors.Is(err, ErrNoKey) {
			t.Errorf("%s: Encrypt error = %v, want ErrNoKey", name, err)
		}
		dst := []byte("keep")
		out, err := r.AppendEncrypt(dst, []byte("x"))
		if !errors.Is(err, ErrNoKey) || string(out) != "keep" {
			t.Errorf("%s: AppendEncrypt = %q, %v; want dst unchanged and ErrNoKey", name, out, err)
		}
		if _, err := r.Decrypt("Z0FBQUFB"); !errors.Is(err, ErrNoKey) {
			t.Errorf("%s: Decrypt error = %v, want ErrNoKey", name, err)
		}
		if r.Len() != 0 || !r.Primary().IsZero() {
			t.Errorf("%s: Len() = %d, Primary().IsZero() = %v", name, r.Len(), r.Primary().IsZero())
		}
	}
}

// forge builds a token under k with arbitrary plaintext blocks (no padding
// added) and a valid HMAC, to reach the padding checks.
func forge(k Key, blocks []byte) string {
	iv := make([]byte, 16)
	tok := []byte{version, 0, 0, 0, 0, 0x6b, 0x07, 0x1d, 0x21}
	tok = append(tok, iv...)
	ct := make([]byte, len(blocks))
	cipher.NewCBCEncrypter(k.mat().block, iv).CryptBlocks(ct, blocks)
	tok = append(tok, ct...)
	h := hmac.New(sha256.New, k.mat().signing[:])
	h.Write(tok)
	tok = h.Sum(tok)
	return base64.URLEncoding.EncodeToString([]byte(base64.URLEncoding.EncodeToString(tok)))
}

func TestDamage(t *testing.T) {
	k, vectors := seedVectors(t)
	other := mustGenerate(t)
	ring := NewKeyring(k)
	var v, long vector
	for _, x := range vectors {
		if x.Plaintext == "Hello 世界 😀" {
			v = x
		}
		if len(x.Plaintext) > 100 {
			long = x
		}
	}
	if v.Ciphertext == "" || long.Ciphertext == "" {
		t.Fatal("vectors missing")
	}
	token, _ := base64.URLEncoding.DecodeString(v.FernetToken)
	longToken, _ := base64.URLEncoding.DecodeString(long.FernetToken)

	// modify returns the stored form of token after f changes a copy.
	modify := func(tok []byte, f func([]byte) []byte) string {
		b := f(bytes.Clone(tok))
		return base64.URLEncoding.EncodeToString([]byte(base64.URLEncoding.EncodeToString(b)))
	}
	flip := func(i int) func([]byte) []byte {
		return func(b []byte) []byte {
			if i < 0 {
				i += len(b)
			}
			b[i] ^= 0x01
			return b
		}
	}
	random57 := make([]byte, 57)
	rand.Read(random57)
	random57[0] = 0x42

	tests := []struct {
		name   string
		stored string
		err    error
	}{
		{"flipped HMAC byte", modify(token, flip(-1)), ErrWrongKey},
		{"flipped first HMAC byte", modify(token, flip(-32)), ErrWrongKey},
		{"flipped ciphertext byte", modify(token, flip(headerLen)), ErrWrongKey},
		{"flipped last ciphertext byte", modify(token, flip(-33)), ErrWrongKey},
		{"flipped IV byte", modify(token, flip(9)), ErrWrongKey},
		{"flipped timestamp byte", modify(token, flip(8)), ErrWrongKey},
		{"flipped byte in bare token", base64.URLEncoding.EncodeToString(flip(30)(bytes.Clone(token))), ErrWrongKey},
		{"wrong key", encryptWith(t, other, "Hello"), ErrWrongKey},
		{"dropped last block", modify(longToken, func(b []byte) []byte {
			return append(b[:len(b)-macLen-blockSize], b[len(b)-macLen:]...)
		}), ErrWrongKey},
		{"truncated by 16 bytes", modify(longToken, func(b []byte) []byte { return b[:len(b)-16] }), ErrWrongKey},
		{"truncated by 1 byte", modify(token, func(b []byte) []byte { return b[:len(b)-1] }), ErrMalformed},
		{"truncated to header", modify(token, func(b []byte) []byte { return b[:headerLen] }), ErrMalformed},
		{"no ciphertext", modify(token, func(b []byte) []byte { return append(b[:headerLen], b[len(b)-macLen:]...) }), ErrMalformed},
		{"truncated stored form", v.Ciphertext[:len(v.Ciphertext)-1], ErrMalformed},
		{"truncated stored form by 4", v.Ciphertext[:len(v.Ciphertext)-4], ErrMalformed},
		{"truncated to half", v.Ciphertext[:len(v.Ciphertext)/2], ErrMalformed},
		{"truncated bare token", v.FernetToken[:len(v.FernetToken)-4], ErrMalformed},
		{"wrong version byte 0x81", modify(token, func(b []byte) []byte { b[0] = 0x81; return b }), ErrMalformed},
		{"wrong version byte 0x00", modify(token, func(b []byte) []byte { b[0] = 0; return b }), ErrMalformed},
		{"wrong version in bare token", base64.URLEncoding.EncodeToString(append([]byte{0x81}, token[1:]...)), ErrMalformed},
		{"not base64", "this is not base64!", ErrMalformed},
		{"standard base64 alphabet", "////" + v.Ciphertext[4:], ErrMalformed},
		{"missing padding", strings.TrimRight(vectors[1].Ciphertext, "="), ErrMalformed},
		{"missing padding in bare token", strings.TrimRight(v.FernetToken, "="), ErrMalformed},
		{"inner not base64", base64.URLEncoding.EncodeToString([]byte("gAAAAA!!")), ErrMalformed},
		{"plaintext stored as is", "What is 2+2?", ErrMalformed},
		{"empty string", "", ErrMalformed},
		{"only whitespace", " \n\t", ErrMalformed},
		{"57 random bytes", string(random57), ErrMalformed},
		{"57 random bytes, base64", base64.URLEncoding.EncodeToString(random57), ErrMalformed},
		{"57 random bytes, version byte, base64 twice", modify(random57, func(b []byte) []byte { b[0] = version; return b }), ErrMalformed},
		{"JSON null", "null", ErrMalformed},
		{"encoded three times", base64.URLEncoding.EncodeToString([]byte(v.Ciphertext)), ErrMalformed},
		{"bad padding: zero", forge(k, make([]byte, 16)), ErrMalformed},
		{"bad padding: 17", forge(k, bytes.Repeat([]byte{17}, 32)), ErrMalformed},
		{"bad padding: inconsistent", forge(k, append(bytes.Repeat([]byte{'a'}, 13), 1, 2, 3)), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ring.Decrypt(tt.stored)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Decrypt error = %v, want %v", err, tt.err)
			}
			if got != nil {
				t.Errorf("Decrypt returned %d bytes with an error", len(got))
			}
			msg := err.Error()
			checkNoSecrets(t, msg, k, v.Plaintext, "Hello", "xxxxxxxx")
			checkNoSecrets(t, msg, other)
			if len(tt.stored) >= 12 && strings.Contains(msg, tt.stored[:12]) {
				t.Errorf("error quotes the content: %s", msg)
			}
			if !strings.HasPrefix(msg, "seal: ") || strings.Contains(msg, "hint") {
				t.Errorf("error lacks the seal: prefix or gives advice: %s", msg)
			}
		})
	}

	// The forged tokens really do carry a valid HMAC: with correct padding
	// they decrypt.
	good := forge(k, append(bytes.Repeat([]byte{'a'}, 12), 4, 4, 4, 4))
	if got, err := ring.Decrypt(good); err != nil || string(got) != "aaaaaaaaaaaa" {
		t.Fatalf("forged well-padded token: %q, %v", got, err)
	}
}

func encryptWith(t *testing.T, k Key, s string) string {
	t.Helper()
	out, err := NewKeyring(k).Encrypt([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDecryptWhitespace(t *testing.T) {
	k, vectors := seedVectors(t)
	ring := NewKeyring(k)
	v := vectors[1]
	for _, in := range []string{" " + v.Ciphertext, v.Ciphertext + "\n", "\t" + v.FernetToken + "\r\n"} {
		got, err := ring.Decrypt(in)
		if err != nil || string(got) != v.Plaintext {
			t.Errorf("Decrypt(%q) = %q, %v", in, got, err)
		}
	}
}

func TestMACIsHMAC(t *testing.T) {
	k := mustGenerate(t)
	for _, n := range []int{0, 1, 55, 56, 64, 119, 1000} {
		msg := make([]byte, n)
		rand.Read(msg)
		s := append(make([]byte, padLen), msg...)
		got := k.mat().mac(s, n)
		h := hmac.New(sha256.New, k.mat().signing[:])
		h.Write(msg)
		if want := h.Sum(nil); !bytes.Equal(got[:], want) {
			t.Errorf("mac of %d bytes differs from crypto/hmac", n)
		}
		if !bytes.Equal(s[padLen:], msg) || !bytes.Equal(s[:padLen], make([]byte, padLen)) {
			t.Errorf("mac of %d bytes left the scratch dirty or changed the message", n)
		}
	}
}

func TestKeyLayout(t *testing.T) {
	// The first 16 bytes sign and the last 16 encrypt, as in Fernet.
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(i + 1)
	}
	k, err := ParseKey(base64.URLEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.mat().signing[:], raw[:16]) || !bytes.Equal(k.mat().encryption[:], raw[16:]) {
		t.Fatal("key halves swapped")
	}
	blk, _ := aes.NewCipher(raw[16:])
	var a, b [16]byte
	blk.Encrypt(a[:], raw[:16])
	k.mat().block.Encrypt(b[:], raw[:16])
	if a != b {
		t.Fatal("block cipher does not use the encryption half")
	}
}

func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	ring := NewKeyring(mustGenerate(t))
	pt := bytes.Repeat([]byte("a"), 2000)
	dst := make([]byte, 0, 8192)
	ring.AppendEncrypt(dst, pt) // warm the pool
	if n := testing.AllocsPerRun(100, func() { ring.AppendEncrypt(dst[:0], pt) }); n > 0 {
		t.Errorf("AppendEncrypt with room in dst: %v allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { ring.Encrypt(pt) }); n > 1 {
		t.Errorf("Encrypt: %v allocations, want 1", n)
	}
	stored, _ := ring.Encrypt(pt)
	if n := testing.AllocsPerRun(100, func() { ring.Decrypt(stored) }); n > 2 {
		t.Errorf("Decrypt: %v allocations, want at most 2", n)
	}
}

func TestSizes(t *testing.T) {
	k := mustGenerate(t)
	for n := range 100 {
		_, o := sizes(n)
		stored := encryptString(k.mat(), 0, make([]byte, 16), make([]byte, n))
		if len(stored) != o || !utf8.ValidString(stored) {
			t.Fatalf("n=%d: stored is %d bytes, sizes says %d", n, len(stored), o)
		}
	}
}

func TestConcurrent(t *testing.T) {
	old := mustGenerate(t)
	ring := NewKeyring(mustGenerate(t), old)
	storedOld, _ := NewKeyring(old).Encrypt([]byte("old"))
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			var dst []byte
			for i := range 200 {
				pt := []byte(fmt.Sprintf("goroutine %d message %d %s", g, i, strings.Repeat("x", i)))
				var err error
				dst, err = ring.AppendEncrypt(dst[:0], pt)
				if err != nil {
					errs <- err
					return
				}
				got, err := ring.Decrypt(string(dst))
				if err != nil || !bytes.Equal(got, pt) {
					errs <- fmt.Errorf("round trip: %v", err)
					return
				}
				if got, err := ring.Decrypt(storedOld); err != nil || string(got) != "old" {
					errs <- fmt.Errorf("old key: %v", err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
