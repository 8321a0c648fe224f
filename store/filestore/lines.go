package filestore

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
)

// errLineTooLong is the cause of a CorruptionError for a line longer than
// Options.MaxLineSize.
var errLineTooLong = errors.New("line too long")

// A lineReader reads the complete lines of a stretch of a segment. A final
// stretch without a newline is not a line yet (a writer may be writing it,
// or a crash tore it) and is not returned.
type lineReader struct {
	r    *bufio.Reader
	off  int64 // offset of the next line
	max  int
	long []byte
}

func newLineReader(f *os.File, from, to int64, maxLine int) *lineReader {
	size := min(1<<20, max(to-from, 4096))
	return &lineReader{
		r:   bufio.NewReaderSize(io.NewSectionReader(f, from, to-from), int(size)),
		off: from,
		max: maxLine,
	}
}

// next returns the offset and bytes (without the newline) of the next line,
// valid until the following call; io.EOF at the end. A line past the size
// limit is skipped and reported with errLineTooLong, after which reading
// can go on.
func (lr *lineReader) next() (int64, []byte, error) {
	b, err := lr.r.ReadSlice('\n')
	if err == nil {
		off := lr.off
		lr.off += int64(len(b))
		if len(b)-1 > lr.max {
			return off, nil, fmt.Errorf("%w (over %d bytes)", errLineTooLong, lr.max)
		}
		return off, b[:len(b)-1], nil
	}
	if err != bufio.ErrBufferFull {
		if err == io.EOF {
			return lr.off, nil, io.EOF
		}
		return lr.off, nil, err
	}
	// A line longer than the buffer: gather it, up to the limit, and count
	// every byte so that the next line's offset stays right.
	off, n, keep := lr.off, int64(len(b)), true
	lr.long = append(lr.long[:0], b...)
	for {
		b, err = lr.r.ReadSlice('\n')
		n += int64(len(b))
		if keep = keep && len(lr.long)+len(b) <= lr.max+1; keep {
			lr.long = append(lr.long, b...)
		}
		switch err {
		case bufio.ErrBufferFull:
			continue
		case nil:
			lr.off += n
			if !keep {
				return off, nil, fmt.Errorf("%w (over %d bytes)", errLineTooLong, lr.max)
			}
			return off, lr.long[:len(lr.long)-1], nil
		case io.EOF:
			return off, nil, io.EOF
		default:
			return off, nil, err
		}
	}
}
