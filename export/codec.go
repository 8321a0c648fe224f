package export

import (
	"fmt"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// A zstdCodec is the zstd codec of the exported columns at one level. It
// keeps its encoders in a free list of its own rather than a sync.Pool:
// an export makes garbage fast, each collection would empty the pool,
// and a new encoder allocates its history window again for every page.
type zstdCodec struct {
	level zstd.EncoderLevel
	free  chan *zstd.Encoder
}

func newZstdCodec(level zstd.EncoderLevel) *zstdCodec {
	return &zstdCodec{level: level, free: make(chan *zstd.Encoder, 8)}
}

// String returns the codec's name as parquet-go reports it.
func (c *zstdCodec) String() string { return "ZSTD" }

// CompressionCodec returns the codec's code in the Parquet format.
func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

// Encode compresses src into dst.
func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	var e *zstd.Encoder
	select {
	case e = <-c.free:
	default:
		var err error
		e, err = zstd.NewWriter(nil,
			zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderLevel(c.level),
			zstd.WithZeroFrames(true),
			zstd.WithEncoderCRC(false),
		)
		if err != nil {
			return dst, fmt.Errorf("zstd: %w", err)
		}
	}
	dst = e.EncodeAll(src, dst[:0])
	select {
	case c.free <- e:
	default:
	}
	return dst, nil
}

// Decode decompresses src into dst. The export writes only; this is for
// the interface.
func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return dst, fmt.Errorf("zstd: %w", err)
	}
	defer d.Close()
	return d.DecodeAll(src, dst[:0])
}
