package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hpke"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"
)

// SessionSealedPrefix starts content sealed in session mode
// ([SealingKey.WithSessions]): "hpke1s.", the key id, '.', base64url of
// the session's HPKE encapsulated key, '.', and base64url of a 12-byte
// nonce followed by the AES-256-GCM ciphertext, all without padding.
const SessionSealedPrefix = "hpke1s."

// exportContext names the session key derived with the HPKE exporter.
const exportContext = "comply content session key v1"

// maxSessionSeals bounds the contents sealed under one session key, far
// below the 2^32 random-nonce limit of AES-GCM.
const maxSessionSeals = 1 << 20

// session is one HPKE encapsulation and the AES-256-GCM key exported
// from it.
type session struct {
	encB64  string
	aead    cipher.AEAD
	expires time.Time
	n       int
}

// sessions is the sealing state that copies of a session-mode SealingKey
// share.
type sessions struct {
	maxAge time.Duration
	mu     sync.Mutex
	cur    *session
}

// WithSessions returns a copy of s that seals in session mode: one HPKE
// encapsulation serves every content sealed within maxAge (and at most
// about a million), each sealed with AES-256-GCM under a key exported
// from it and a random nonce. That makes sealing about as cheap as Fernet
// instead of one key encapsulation per content, at a price: the writer
// holds the current session key in memory, so a compromised writer can
// read the contents it sealed in the current session (at most maxAge
// back), not only those it is about to seal. Sessions are never written
// anywhere. maxAge <= 0 means one minute.
func (s *SealingKey) WithSessions(maxAge time.Duration) *SealingKey {
	if maxAge <= 0 {
		maxAge = time.Minute
	}
	c := *s
	c.sess = &sessions{maxAge: maxAge}
	return &c
}

// sessionSeal seals plaintext under the current session, starting a new
// one when it expired.
func (s *SealingKey) sessionSeal(plaintext []byte) (string, error) {
	ss := s.sess
	ss.mu.Lock()
	now := time.Now()
	if ss.cur == nil || now.After(ss.cur.expires) || ss.cur.n >= maxSessionSeals {
		enc, snd, err := hpke.NewSender(s.pub, hpke.HKDFSHA256(), hpke.AES256GCM(), []byte(hpkeInfo))
		if err != nil {
			ss.mu.Unlock()
			return "", fmt.Errorf("seal: seal: %w", err)
		}
		key, err := snd.Export(exportContext, 32)
		if err != nil {
			ss.mu.Unlock()
			return "", fmt.Errorf("seal: seal: %w", err)
		}
		aead := newGCM(key)
		clear(key)
		ss.cur = &session{encB64: base64.RawURLEncoding.EncodeToString(enc), aead: aead, expires: now.Add(ss.maxAge)}
	}
	cur := ss.cur
	cur.n++
	ss.mu.Unlock()

	head := SessionSealedPrefix + s.id + "." + cur.encB64 + "."
	buf := make([]byte, 12, 12+len(plaintext)+16)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("seal: seal: %w", err)
	}
	buf = cur.aead.Seal(buf, buf[:12], plaintext, []byte(SessionSealedPrefix+s.id))
	out := make([]byte, 0, len(head)+base64.RawURLEncoding.EncodedLen(len(buf)))
	out = append(out, head...)
	return string(base64.RawURLEncoding.AppendEncode(out, buf)), nil
}

func newGCM(key []byte) cipher.AEAD {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic("seal: aes.NewCipher: " + err.Error()) // unreachable: 32 bytes
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		panic("seal: cipher.NewGCM: " + err.Error()) // unreachable
	}
	return g
}

// maxOpenSessions bounds the session keys an Identity caches.
const maxOpenSessions = 4096

// openSession opens session-mode content: "ID.ENC.DATA" after the prefix.
func (i *Identity) openSession(rest string) ([]byte, error) {
	if len(rest) > maxSealed {
		return nil, malformed("the content is too large")
	}
	parts := strings.SplitN(rest, ".", 3)
	if len(parts) != 3 || !ValidKeyID(parts[0]) {
		return nil, malformed("it is not " + SessionSealedPrefix + "ID.ENC.DATA with a valid key id")
	}
	id, encB64 := parts[0], parts[1]
	if id != i.pub.id {
		return nil, fmt.Errorf("seal: open: %w: it names key %s, this identity is %s", ErrWrongIdentity, id, i.pub.id)
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(data) < 12+16 {
		return nil, malformed("its data is not unpadded base64url of a nonce and a ciphertext")
	}
	aead, err := i.sessionKey(encB64)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, data[:12], data[12:], []byte(SessionSealedPrefix+id))
	if err != nil {
		return nil, fmt.Errorf("seal: open: %w (the sealed content was altered or truncated)", ErrWrongKey)
	}
	return pt, nil
}

// sessionKey decapsulates a session's encapsulated key, or finds it in
// the cache.
func (i *Identity) sessionKey(encB64 string) (cipher.AEAD, error) {
	i.mu.Lock()
	aead, ok := i.cache[encB64]
	i.mu.Unlock()
	if ok {
		return aead, nil
	}
	enc, err := base64.RawURLEncoding.DecodeString(encB64)
	if err != nil {
		return nil, malformed("its encapsulated key is not unpadded base64url")
	}
	rcp, err := hpke.NewRecipient(enc, i.priv, hpke.HKDFSHA256(), hpke.AES256GCM(), []byte(hpkeInfo))
	if err != nil {
		return nil, fmt.Errorf("seal: open: %w (the encapsulated key was altered)", ErrWrongKey)
	}
	key, err := rcp.Export(exportContext, 32)
	if err != nil {
		return nil, fmt.Errorf("seal: open: %w", err)
	}
	aead = newGCM(key)
	clear(key)
	i.mu.Lock()
	if i.cache == nil || len(i.cache) >= maxOpenSessions {
		i.cache = map[string]cipher.AEAD{}
	}
	i.cache[encB64] = aead
	i.mu.Unlock()
	return aead, nil
}
