package seal

import (
	"bytes"
	"testing"
	"time"
)

// benchPlaintext is the size of a typical prompt or completion.
var benchPlaintext = bytes.Repeat([]byte("The quick brown fox jumps over the lazy dog. "), 2000/45+1)[:2000]

func BenchmarkEncrypt(b *testing.B) {
	ring := NewKeyring(mustGenerate(b))
	b.SetBytes(int64(len(benchPlaintext)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ring.Encrypt(benchPlaintext); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendEncrypt(b *testing.B) {
	ring := NewKeyring(mustGenerate(b))
	dst := make([]byte, 0, 8192)
	b.SetBytes(int64(len(benchPlaintext)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ring.AppendEncrypt(dst[:0], benchPlaintext); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncryptParallel measures throughput with every core encrypting,
// as the logger does under load.
func BenchmarkEncryptParallel(b *testing.B) {
	ring := NewKeyring(mustGenerate(b))
	b.SetBytes(int64(len(benchPlaintext)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		dst := make([]byte, 0, 8192)
		for pb.Next() {
			if _, err := ring.AppendEncrypt(dst[:0], benchPlaintext); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecrypt(b *testing.B) {
	ring := NewKeyring(mustGenerate(b))
	stored, err := ring.Encrypt(benchPlaintext)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(benchPlaintext)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ring.Decrypt(stored); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecryptOldKey decrypts content written under the third key of
// a keyring, the cost of reading logs from before two rotations.
func BenchmarkDecryptOldKey(b *testing.B) {
	old := mustGenerate(b)
	stored, err := NewKeyring(old).Encrypt(benchPlaintext)
	if err != nil {
		b.Fatal(err)
	}
	ring := NewKeyring(mustGenerate(b), mustGenerate(b), old)
	b.SetBytes(int64(len(benchPlaintext)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ring.Decrypt(stored); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealHPKE seals 2,000 bytes to an X25519 public key, a fresh
// encapsulation per call, to compare with BenchmarkEncrypt (Fernet).
func BenchmarkSealHPKE(b *testing.B) {
	for _, bc := range []struct {
		name     string
		pq       bool
		sessions bool
	}{{"X25519", false, false}, {"MLKEM768X25519", true, false}, {"X25519/sessions", false, true}, {"MLKEM768X25519/sessions", true, true}} {
		b.Run(bc.name, func(b *testing.B) {
			pk := mustIdentity(b, bc.pq).SealingKey()
			if bc.sessions {
				pk = pk.WithSessions(time.Minute)
			}
			b.SetBytes(int64(len(benchPlaintext)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pk.Seal(benchPlaintext); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenHPKE opens what BenchmarkSealHPKE seals.
func BenchmarkOpenHPKE(b *testing.B) {
	id := mustIdentity(b, false)
	s, err := id.SealingKey().Seal(benchPlaintext)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(benchPlaintext)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := id.Open(s); err != nil {
			b.Fatal(err)
		}
	}
}
