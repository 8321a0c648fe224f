package seal

import "encoding/binary"

// A fast encoder for the URL-safe base64 alphabet with padding, producing
// exactly what base64.URLEncoding.Encode does. Encrypt spends most of its
// time encoding (the stored form is base64 applied twice), and the
// standard library's encoder emits one character at a time; this one looks
// up pairs of characters for 12 bits at a time and writes 8 characters per
// store.

const urlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// pairs maps 12 bits to their two base64 characters, first character in
// the low byte.
var pairs = func() (t [1 << 12]uint16) {
	for i := range t {
		t[i] = uint16(urlAlphabet[i>>6]) | uint16(urlAlphabet[i&0x3f])<<8
	}
	return t
}()

// encodeB64 writes the padded URL-safe base64 encoding of src to dst,
// which must be exactly b64.EncodedLen(len(src)) bytes long. dst and src
// must not overlap.
func encodeB64(dst, src []byte) {
	// Twelve source bytes make sixteen characters. Each 8-byte load uses
	// its first six bytes, so the loop stops while 4 bytes of slack
	// remain.
	for len(src) >= 16 && len(dst) >= 16 {
		a := binary.BigEndian.Uint64(src)
		b := binary.BigEndian.Uint64(src[6:])
		binary.LittleEndian.PutUint64(dst, uint64(pairs[a>>52])|
			uint64(pairs[a>>40&0xfff])<<16|
			uint64(pairs[a>>28&0xfff])<<32|
			uint64(pairs[a>>16&0xfff])<<48)
		binary.LittleEndian.PutUint64(dst[8:], uint64(pairs[b>>52])|
			uint64(pairs[b>>40&0xfff])<<16|
			uint64(pairs[b>>28&0xfff])<<32|
			uint64(pairs[b>>16&0xfff])<<48)
		src = src[12:]
		dst = dst[16:]
	}
	for len(src) >= 3 && len(dst) >= 4 {
		v := uint(src[0])<<16 | uint(src[1])<<8 | uint(src[2])
		binary.LittleEndian.PutUint32(dst, uint32(pairs[v>>12])|uint32(pairs[v&0xfff])<<16)
		src = src[3:]
		dst = dst[4:]
	}
	if len(dst) < 4 {
		return
	}
	switch len(src) {
	case 1:
		v := uint(src[0]) << 4
		dst[0], dst[1], dst[2], dst[3] = urlAlphabet[v>>6], urlAlphabet[v&0x3f], '=', '='
	case 2:
		v := uint(src[0])<<10 | uint(src[1])<<2
		dst[0], dst[1], dst[2], dst[3] = urlAlphabet[v>>12], urlAlphabet[v>>6&0x3f], urlAlphabet[v&0x3f], '='
	}
}

// The double encoding, base64(base64(src)), fused into one pass. Nine
// source bytes make twelve characters of the inner encoding, which make
// sixteen of the outer one. Split the source bits into 18-bit groups
// (three inner characters, i.e. four outer ones). The first two outer
// characters of a group depend only on its first 12 bits and the last two
// only on its last 12 bits, so two table lookups per group give all four
// outer characters, and the inner encoding never exists in memory.
var dblHi, dblLo [1 << 12]uint16

func init() {
	// x is 12 bits: two sextets, thus two inner characters, a and b.
	// As the first two of a group c0 c1 c2, the outer encoding of the top
	// 12 bits is c0<<4 | c1>>4; as the last two, the low 12 bits are
	// (c1&0xf)<<8 | c2.
	for x := range 1 << 12 {
		a, b := uint(urlAlphabet[x>>6]), uint(urlAlphabet[x&0x3f])
		hi := a<<4 | b>>4
		lo := (a&0xf)<<8 | b
		dblHi[x] = uint16(urlAlphabet[hi>>6]) | uint16(urlAlphabet[hi&0x3f])<<8
		dblLo[x] = uint16(urlAlphabet[lo>>6]) | uint16(urlAlphabet[lo&0x3f])<<8
	}
}

// doubleLen returns the length of base64(base64(n bytes)).
func doubleLen(n int) int { return b64.EncodedLen(b64.EncodedLen(n)) }

// encodeB64Twice writes base64(base64(src)), padded URL-safe alphabet
// both times, to dst, which must be exactly doubleLen(len(src)) bytes.
func encodeB64Twice(dst, src []byte) {
	for len(src) >= 9 && len(dst) >= 16 {
		a := binary.BigEndian.Uint64(src)     // bits 0..63
		b := binary.BigEndian.Uint64(src[1:]) // bits 8..71
		binary.LittleEndian.PutUint64(dst,
			uint64(dblHi[a>>52])|uint64(dblLo[a>>46&0xfff])<<16|
				uint64(dblHi[a>>34&0xfff])<<32|uint64(dblLo[a>>28&0xfff])<<48)
		binary.LittleEndian.PutUint64(dst[8:],
			uint64(dblHi[a>>16&0xfff])|uint64(dblLo[a>>10&0xfff])<<16|
				uint64(dblHi[b>>6&0xfff])<<32|uint64(dblLo[b&0xfff])<<48)
		src = src[9:]
		dst = dst[16:]
	}
	// Fewer than nine bytes left: their inner encoding is at most twelve
	// characters, encoded once more.
	var inner [12]byte
	n := b64.EncodedLen(len(src))
	if n > len(inner) || len(dst) != b64.EncodedLen(n) {
		return
	}
	encodeB64(inner[:n], src)
	encodeB64(dst, inner[:n])
}
