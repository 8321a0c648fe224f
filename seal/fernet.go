package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

var (
	// ErrWrongKey means the content is a well-formed Fernet token that no
	// key in the keyring authenticates: it was encrypted with another key
	// (perhaps one rotated out of the keyring), or it was altered. After a
	// key rotation, keep the old key in the keyring, after the new one.
	ErrWrongKey = errors.New("content was not encrypted with any key in the keyring, or was altered")

	// ErrMalformed means the content is not a Fernet token in any form
	// that Decrypt accepts: not base64, too short, a wrong version byte, a
	// ciphertext that is not a whole number of blocks, or bad padding.
	ErrMalformed = errors.New("malformed encrypted content")
)

// Token layout.
const (
	version     = 0x80
	blockSize   = aes.BlockSize
	headerLen   = 1 + 8 + blockSize // version, timestamp, IV
	macLen      = sha256.Size
	minTokenLen = headerLen + blockSize + macLen

	// padLen is the room left in scratch buffers in front of a token, where
	// the HMAC inner key block goes so that the inner hash is one
	// sha256.Sum256 call over a contiguous slice.
	padLen = sha256.BlockSize

	// maxPlaintext keeps every length computation far from overflow.
	maxPlaintext = math.MaxInt / 8
)

var b64 = base64.URLEncoding

// tokenLen is the length of the Fernet token for n bytes of plaintext.
func tokenLen(n int) int { return headerLen + (n/blockSize+1)*blockSize + macLen }

// Encrypt encrypts plaintext with the primary key and returns it in the
// stored form, base64url(Fernet token): exactly what the reference library
// writes into input_content and output_content. Each call uses a fresh
// random IV and the current time. It fails, with an error wrapping
// [ErrNoKey], only if the keyring has no key.
func (r *Keyring) Encrypt(plaintext []byte) (string, error) {
	m, err := r.encryptKey(len(plaintext))
	if err != nil {
		return "", err
	}
	iv, err := newIV()
	if err != nil {
		return "", err
	}
	return encryptString(m, time.Now().Unix(), iv[:], plaintext), nil
}

// AppendEncrypt is like [Keyring.Encrypt] but appends the stored form to
// dst and returns the extended slice. With enough capacity in dst it does
// not allocate. dst and plaintext may overlap. On error dst is returned
// unchanged.
func (r *Keyring) AppendEncrypt(dst, plaintext []byte) ([]byte, error) {
	m, err := r.encryptKey(len(plaintext))
	if err != nil {
		return dst, err
	}
	iv, err := newIV()
	if err != nil {
		return dst, err
	}
	return appendEncrypt(dst, m, time.Now().Unix(), iv[:], plaintext), nil
}

func (r *Keyring) encryptKey(n int) (*material, error) {
	if r.Len() == 0 {
		return nil, noKeyError("encrypt")
	}
	if n > maxPlaintext {
		return nil, fmt.Errorf("seal: encrypt: the plaintext is %d bytes, more than the %d supported", n, maxPlaintext)
	}
	return r.keys[0].mat(), nil
}

func newIV() ([blockSize]byte, error) {
	var iv [blockSize]byte
	if _, err := rand.Read(iv[:]); err != nil {
		return iv, fmt.Errorf("seal: encrypt: reading random IV: %w", err)
	}
	return iv, nil
}

// sizes returns the lengths of the token and of the stored form for n
// bytes of plaintext.
func sizes(n int) (tok, stored int) {
	tok = tokenLen(n)
	return tok, doubleLen(tok)
}

// encryptString returns the stored form of plaintext sealed with m at time
// now (Unix seconds) with the given 16-byte IV.
func encryptString(m *material, now int64, iv, plaintext []byte) string {
	t, o := sizes(len(plaintext))
	sp := getScratch(padLen + t + o)
	s := *sp
	sealToken(s[:padLen+t], m, now, iv, plaintext)
	out := s[padLen+t:]
	encodeB64Twice(out, s[padLen:padLen+t])
	str := string(out)
	putScratch(sp)
	return str
}

// appendEncrypt is encryptString appending to dst.
func appendEncrypt(dst []byte, m *material, now int64, iv, plaintext []byte) []byte {
	t, o := sizes(len(plaintext))
	sp := getScratch(padLen + t)
	s := *sp
	// Seal before growing dst: plaintext may live in dst's spare capacity.
	sealToken(s, m, now, iv, plaintext)
	dst = slices.Grow(dst, o)
	n := len(dst)
	dst = dst[:n+o]
	encodeB64Twice(dst[n:], s[padLen:])
	putScratch(sp)
	return dst
}

// sealToken writes the Fernet token for plaintext into s[padLen:], which
// must be exactly tokenLen(len(plaintext)) bytes; s[:padLen] is scratch.
func sealToken(s []byte, m *material, now int64, iv, plaintext []byte) {
	tok := s[padLen:]
	tok[0] = version
	binary.BigEndian.PutUint64(tok[1:9], uint64(now))
	copy(tok[9:headerLen], iv)
	ct := tok[headerLen : len(tok)-macLen]
	n := copy(ct, plaintext)
	pad := byte(len(ct) - n) // 1 to 16: PKCS #7
	for i := n; i < len(ct); i++ {
		ct[i] = pad
	}
	cbcEncrypt(m.block, iv, ct)
	mac := m.mac(s, len(tok)-macLen)
	copy(tok[len(tok)-macLen:], mac[:])
}

// mac returns HMAC-SHA256 under the signing key of s[padLen:padLen+n],
// overwriting s[:padLen] (scratch) with the inner key block on the way.
// With the key block in front of the message, the inner hash is a single
// Sum256 over contiguous memory, with no hash state to allocate.
func (m *material) mac(s []byte, n int) [sha256.Size]byte {
	w := s[:padLen+n]
	copy(w, m.ipad[:])
	inner := sha256.Sum256(w)
	clear(w[:padLen])
	var outer [padLen + sha256.Size]byte
	copy(outer[:], m.opad[:])
	copy(outer[padLen:], inner[:])
	return sha256.Sum256(outer[:])
}

// Decrypt decrypts content in the stored form that [Keyring.Encrypt] and
// the reference library write, base64url(Fernet token). It also accepts a
// bare Fernet token (the once-encoded text starting "gAAAAA"). Surrounding
// whitespace is ignored. It tries the primary key, then each older key, and
// checks the HMAC in constant time before decrypting. The token's timestamp
// is not checked.
//
// Errors wrap [ErrMalformed] if stored is not a token at all,
// [ErrWrongKey] if no key authenticates it, and [ErrNoKey] if the keyring
// has no key; they never include key material, plaintext or the content
// itself.
func (r *Keyring) Decrypt(stored string) ([]byte, error) {
	pt, _, err := r.decrypt(stored, -1)
	return pt, err
}

// decrypt decrypts stored with the key at index only, or with any key if
// only is negative, and returns the index of the key that opened it.
func (r *Keyring) decrypt(stored string, only int) ([]byte, int, error) {
	if r.Len() == 0 {
		return nil, -1, noKeyError("decrypt")
	}
	stored = strings.TrimSpace(stored)
	if stored == "" {
		return nil, -1, malformed("the content is empty")
	}
	if len(stored) > maxPlaintext {
		return nil, -1, malformed("the content is too large")
	}
	// Scratch layout: pad | first decoding | pad | second decoding | input.
	// The token ends up in one of the two decodings, with room for the
	// HMAC key block in front of it.
	l := len(stored)
	d1 := b64.DecodedLen(l)
	d2 := b64.DecodedLen(d1)
	size := padLen + d1 + padLen + d2 + l
	sp := getScratch(size)
	defer putScratch(sp)
	s := *sp
	src := s[size-l:]
	copy(src, stored)

	off := padLen
	n, err := b64.Decode(s[off:off+d1], src)
	if err != nil {
		return nil, -1, malformed("it is not urlsafe base64: " + err.Error())
	}
	if n > 0 && s[off] != version && isBase64URL(s[off]) {
		// The stored form: what we decoded is the token's base64 text.
		off2 := padLen + d1 + padLen
		n, err = b64.Decode(s[off2:off2+d2], s[off:off+n])
		if err != nil {
			return nil, -1, malformed("its decoding is not a base64-encoded Fernet token: " + err.Error())
		}
		off = off2
	}
	return r.open(s[off-padLen:off+n], only)
}

// open authenticates and decrypts the token in s[padLen:]; s[:padLen] is
// scratch. It tries only the key at index only, unless that is negative.
func (r *Keyring) open(s []byte, only int) ([]byte, int, error) {
	tok := s[padLen:]
	if len(tok) < minTokenLen {
		return nil, -1, malformed(fmt.Sprintf("the token is %d bytes, shorter than the minimum %d", len(tok), minTokenLen))
	}
	if tok[0] == 'g' {
		return nil, -1, malformed("it is base64-encoded once more than the stored form")
	}
	if tok[0] != version {
		return nil, -1, malformed(fmt.Sprintf("the token starts with version byte 0x%02x, want 0x%02x", tok[0], version))
	}
	msgLen := len(tok) - macLen
	ctLen := msgLen - headerLen
	if ctLen%blockSize != 0 {
		return nil, -1, malformed(fmt.Sprintf("the ciphertext is %d bytes, not a multiple of the AES block size %d", ctLen, blockSize))
	}
	var padErr error
	for i, k := range r.keys {
		if only >= 0 && i != only {
			continue
		}
		m := k.mat()
		sum := m.mac(s, msgLen)
		if !hmac.Equal(sum[:], tok[msgLen:]) {
			continue
		}
		plaintext, err := m.decrypt(tok[9:headerLen], tok[headerLen:msgLen])
		if err == nil {
			return plaintext, i, nil
		}
		// Only a keyring with two keys that share a signing key gets
		// here with a correct token; try the others.
		padErr = err
	}
	if padErr != nil {
		return nil, -1, padErr
	}
	tried := "the only key"
	if only >= 0 {
		tried = fmt.Sprintf("only key %q, named by the content's key id", r.id(only))
	} else if len(r.keys) > 1 {
		tried = fmt.Sprintf("all %d keys", len(r.keys))
	}
	return nil, -1, fmt.Errorf("seal: decrypt: %w (tried %s)", ErrWrongKey, tried)
}

// decrypt decrypts an authenticated ciphertext and removes its padding.
func (m *material) decrypt(iv, ct []byte) ([]byte, error) {
	out := make([]byte, len(ct))
	cbcDecrypt(m.block, iv, out, ct)
	pad := int(out[len(out)-1])
	ok := pad >= 1 && pad <= blockSize
	if ok {
		for _, c := range out[len(out)-pad:] {
			ok = ok && int(c) == pad
		}
	}
	if !ok {
		clear(out)
		return nil, malformed("the padding is invalid, although the HMAC is correct: the token was made by a faulty encrypter")
	}
	return out[:len(out)-pad], nil
}

// cbcEncrypt encrypts buf, a whole number of blocks, in place in CBC mode.
// It does what cipher.NewCBCEncrypter(b, iv).CryptBlocks(buf, buf) does,
// without allocating a copy of the expanded key on every call.
func cbcEncrypt(b cipher.Block, iv, buf []byte) {
	x0 := binary.LittleEndian.Uint64(iv)
	x1 := binary.LittleEndian.Uint64(iv[8:])
	for len(buf) >= blockSize {
		blk := buf[:blockSize]
		binary.LittleEndian.PutUint64(blk, binary.LittleEndian.Uint64(blk)^x0)
		binary.LittleEndian.PutUint64(blk[8:], binary.LittleEndian.Uint64(blk[8:])^x1)
		b.Encrypt(blk, blk)
		x0 = binary.LittleEndian.Uint64(blk)
		x1 = binary.LittleEndian.Uint64(blk[8:])
		buf = buf[blockSize:]
	}
}

// cbcDecrypt decrypts src, a whole number of blocks, into dst, which is as
// long and does not overlap it.
func cbcDecrypt(b cipher.Block, iv, dst, src []byte) {
	prev := iv
	for len(src) >= blockSize && len(dst) >= blockSize {
		blk := dst[:blockSize]
		b.Decrypt(blk, src[:blockSize])
		binary.LittleEndian.PutUint64(blk, binary.LittleEndian.Uint64(blk)^binary.LittleEndian.Uint64(prev))
		binary.LittleEndian.PutUint64(blk[8:], binary.LittleEndian.Uint64(blk[8:])^binary.LittleEndian.Uint64(prev[8:]))
		prev = src[:blockSize]
		src = src[blockSize:]
		dst = dst[blockSize:]
	}
}

func malformed(problem string) error {
	return fmt.Errorf("seal: decrypt: %w: %s", ErrMalformed, problem)
}

func isBase64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// Scratch buffers, pooled so that Encrypt and Decrypt allocate only their
// results. Buffers above maxPooled are left to the garbage collector.
const maxPooled = 256 << 10

var scratchPool sync.Pool // of *[]byte

func getScratch(n int) *[]byte {
	if p, _ := scratchPool.Get().(*[]byte); p != nil && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := make([]byte, n, max(n, 4096))
	return &b
}

// putScratch returns a buffer to the pool. Callers have already cleared
// anything secret in it: buffers hold only ciphertext and encodings.
func putScratch(p *[]byte) {
	if cap(*p) <= maxPooled {
		scratchPool.Put(p)
	}
}
