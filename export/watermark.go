package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"
)

// StateDir is the folder under the output that holds the export's own
// state. Its name starts with "_", so that Hive, Spark, Trino and Athena
// skip it, and it holds no .parquet file.
const StateDir = "_comply_export"

// WatermarkFile is the watermark's name inside StateDir.
const WatermarkFile = "watermark.json"

// watermarkVersion is the version of the watermark file's format.
const watermarkVersion = 1

// A Watermark is what an output holds of its exports: the schema they
// wrote and, per writer, the last entry exported.
type Watermark struct {
	Version       int              `json:"version"`
	SchemaVersion int              `json:"schema_version"`
	Promote       []string         `json:"promote"`
	Writers       map[string]*Mark `json:"writers"`
}

// A Mark is one writer's watermark: every entry of the writer ordered at or
// before (Timestamp, ID) has been exported, in runs numbered up to Seq.
// Entries are ordered by timestamp, then by id.
type Mark struct {
	Timestamp time.Time `json:"timestamp"`
	ID        string    `json:"id"`
	Seq       int       `json:"seq"`     // the last run that exported entries of the writer
	Entries   int64     `json:"entries"` // entries exported in all runs
}

// after reports whether an entry at (ts, id) is after the mark.
func (m *Mark) after(ts time.Time, id string) bool {
	if m == nil {
		return true
	}
	if c := ts.Compare(m.Timestamp); c != 0 {
		return c > 0
	}
	return id > m.ID
}

// watermarkName is the watermark's name relative to the output.
const watermarkName = StateDir + "/" + WatermarkFile

// readWatermark reads the watermark of the output; a missing one is an
// empty watermark.
func readWatermark(ctx context.Context, out sink) (*Watermark, error) {
	path := strings.TrimSuffix(out.String(), "/") + "/" + watermarkName
	b, err := out.readState(ctx, watermarkName)
	if errors.Is(err, fs.ErrNotExist) {
		return &Watermark{Version: watermarkVersion, SchemaVersion: SchemaVersion, Writers: map[string]*Mark{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read watermark: %w", err)
	}
	var w Watermark
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, &WatermarkError{Path: path, Err: err}
	}
	switch {
	case w.Version != watermarkVersion:
		return nil, &WatermarkError{Path: path, Err: fmt.Errorf("version %d, want %d", w.Version, watermarkVersion)}
	case w.SchemaVersion != SchemaVersion:
		return nil, &WatermarkError{Path: path, Err: fmt.Errorf("schema version %d, this comply writes %d: export to a new location", w.SchemaVersion, SchemaVersion)}
	}
	if w.Writers == nil {
		w.Writers = map[string]*Mark{}
	}
	for k, m := range w.Writers {
		if m == nil || m.Seq <= 0 {
			return nil, &WatermarkError{Path: path, Err: fmt.Errorf("writer %q: bad mark", k)}
		}
	}
	return &w, nil
}

// samePromote reports whether the watermark's promoted keys are keys.
func (w *Watermark) samePromote(keys []string) bool {
	return len(w.Writers) == 0 || slices.Equal(w.Promote, keys)
}

// writeWatermark replaces the watermark of the output durably: in a
// folder a temporary file, fsynced, renamed over it, and the folder
// fsynced; on S3 one PUT.
func writeWatermark(ctx context.Context, out sink, w *Watermark) error {
	b, err := json.MarshalIndent(w, "", "  ")
	if err != nil {
		return fmt.Errorf("write watermark: %w", err)
	}
	if err := out.writeState(ctx, watermarkName, append(b, '\n')); err != nil {
		return fmt.Errorf("write watermark: %w", err)
	}
	return nil
}

// A WatermarkError reports a watermark that cannot be used.
type WatermarkError struct {
	Path string
	Err  error
}

func (e *WatermarkError) Error() string { return "watermark " + e.Path + ": " + e.Err.Error() }

func (e *WatermarkError) Unwrap() error { return e.Err }
